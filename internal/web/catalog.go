package web

import (
	"net/http"
	"strings"
	"time"

	patchday "github.com/patchday/patchday"
)

// tufMetadata serves the catalog's signed TUF metadata. Versioned files
// never change, so caches may keep them; timestamp.json (and the
// unversioned names) change with every signature and must be revalidated.
func (s *Server) tufMetadata(w http.ResponseWriter, r *http.Request) error {
	if s.Catalog == nil {
		return patchday.Errorf(patchday.ErrNotFound, "this server does not sign a catalog")
	}
	name := r.PathValue("name")
	b, err := s.Catalog.Metadata(r.Context(), name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if name[0] >= '1' && name[0] <= '9' {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, err = w.Write(b)
	return err
}

// tufTarget serves a target by its consistent-snapshot name,
// <dir>/<sha256>.<name>: the hash names the content.
func (s *Server) tufTarget(w http.ResponseWriter, r *http.Request) error {
	p := r.PathValue("path")
	base := p[strings.LastIndex(p, "/")+1:]
	sum, _, ok := strings.Cut(base, ".")
	if !ok {
		return patchday.Errorf(patchday.ErrNotFound, "targets are fetched by <sha256>.<name>")
	}
	return s.serveContent(w, r, sum)
}

// content serves a payload or delta by its sha256, for any HTTP cache or
// CDN to front: Range requests, a strong ETag, immutable caching.
func (s *Server) content(w http.ResponseWriter, r *http.Request) error {
	return s.serveContent(w, r, r.PathValue("sha256"))
}

func (s *Server) serveContent(w http.ResponseWriter, r *http.Request, sum string) error {
	if s.Catalog == nil {
		return patchday.Errorf(patchday.ErrNotFound, "no such content")
	}
	f, err := s.Catalog.Content(r.Context(), sum)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+sum+`"`)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}
