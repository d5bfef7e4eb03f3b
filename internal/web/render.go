package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday/internal/advisory"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/staff"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// formField is one labelled input of a form.
type formField struct {
	Name, Label, Value, Error, Hint string
}

// filesView lists a case's files.
type filesView struct {
	Files []intake.Attachment
	Staff bool
	Ref   string
}

// page is what every template receives.
type page struct {
	Title  string
	User   *staff.User
	Flash  string
	Fields map[string]string // field problems on a form
	Data   any
}

var funcs = template.FuncMap{
	"when":          func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"size":          intake.Size,
	"exploitedNote": func() string { return advisory.ExploitedNote },
	// files gathers what the "files" template needs: the list, and where
	// staff download them.
	"files": func(d casePage, fs []intake.Attachment) filesView {
		return filesView{Files: fs, Staff: d.Staff, Ref: d.Case.Ref}
	},
	// field gathers what the "text" and "area" templates need for one input.
	"field": func(name, label string, values, problems map[string]string, hint string) formField {
		return formField{Name: name, Label: label, Value: values[name], Error: problems[name], Hint: hint}
	},
	"add": func(ns ...int) int {
		t := 0
		for _, n := range ns {
			t += n
		}
		return t
	},
	"hasPrefix": strings.HasPrefix,
	// days writes a number of days with one decimal.
	"days":  func(d float64) string { return strconv.FormatFloat(d, 'f', 1, 64) },
	"trend": trend,
	"isAdmin": func(u *staff.User) bool {
		return u != nil && u.Roles.Has(staff.RoleAdmin)
	},
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimPrefix(name, "templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", base, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	if p.User == nil {
		if u := userFrom(r.Context()); u.ID != 0 {
			p.User = &u
		}
	}
	var buf bytes.Buffer
	t, ok := s.pages[name]
	if !ok {
		s.Log.Error("render: no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		id := errorID()
		s.Log.Error("render failed", "id", id, "template", name, "err", err)
		http.Error(w, "internal error, id "+id, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
