package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/product"
)

// Products are managed by release managers (and admins): they decide what
// ships. Every staff member may read them.

type productsData struct {
	Products []product.WithVersions
	Schemes  []product.Scheme
	CanEdit  bool
	// Form values kept after a refused submission.
	Name, Vendor, Scheme, VersionOf, Version string
}

func (s *Server) productsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderProducts(w, r, http.StatusOK, page{}, productsData{})
}

func (s *Server) renderProducts(w http.ResponseWriter, r *http.Request, code int, p page, d productsData) error {
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return err
	}
	d.Products, d.Schemes = ps, product.Schemes
	d.CanEdit = userFrom(r.Context()).Roles.Has(staffRoleProducts)
	p.Title, p.Data = "Products", d
	if r.URL.Query().Get("added") != "" && p.Flash == "" {
		p.Flash = "Added " + r.URL.Query().Get("added") + "."
	}
	s.render(w, r, code, "products.html", p)
	return nil
}

func (s *Server) addProduct(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	pr, err := s.Products.Add(r.Context(), actor(r), f.Get("name"), f.Get("vendor"), f.Get("scheme"))
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		return s.renderProducts(w, r, status(err), page{Fields: formFields(err, "name")},
			productsData{Name: f.Get("name"), Vendor: f.Get("vendor"), Scheme: f.Get("scheme")})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/products?added="+pr.Name, http.StatusSeeOther)
	return nil
}

func (s *Server) addVersion(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	v, err := s.Products.AddVersion(r.Context(), actor(r), f.Get("product"), f.Get("version"))
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) || errors.Is(err, patchday.ErrNotFound) {
		return s.renderProducts(w, r, status(err), page{Fields: formFields(err, "version")},
			productsData{VersionOf: f.Get("product"), Version: f.Get("version")})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/products?added="+f.Get("product")+"+"+v.Version, http.StatusSeeOther)
	return nil
}

// formFields returns err's field problems, or its message under field
// when it has none (a conflict names no field of its own).
func formFields(err error, field string) map[string]string {
	if fs := patchday.FieldErrors(err); len(fs) > 0 {
		return fs
	}
	return map[string]string{field: patchday.Message(err)}
}

func parseSmallForm(w http.ResponseWriter, r *http.Request) error { return parseForm(w, r, 64<<10) }

// parseForm reads a url-encoded form of at most limit bytes.
func parseForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		return patchday.Errorf(patchday.ErrInvalid, "the form could not be read (at most %d KiB)", limit>>10)
	}
	return nil
}

// JSON API.

type apiVersion struct {
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

type apiProduct struct {
	Name      string       `json:"name"`
	Vendor    string       `json:"vendor"`
	Scheme    string       `json:"scheme"`
	CreatedAt time.Time    `json:"created_at"`
	Versions  []apiVersion `json:"versions"`
}

func toAPIProduct(p product.Product, vs []product.Version) apiProduct {
	out := apiProduct{Name: p.Name, Vendor: p.Vendor, Scheme: string(p.Scheme), CreatedAt: p.CreatedAt, Versions: []apiVersion{}}
	for _, v := range vs {
		out.Versions = append(out.Versions, apiVersion{Version: v.Version, CreatedAt: v.CreatedAt})
	}
	return out
}

func (s *Server) apiProducts(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Products []apiProduct `json:"products"`
	}{Products: []apiProduct{}}
	for _, p := range ps {
		out.Products = append(out.Products, toAPIProduct(p.Product, p.Versions))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// readJSON decodes a small JSON body into v, refusing unknown fields so a
// misspelt field is an error rather than silently ignored.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(w, r, v, 64<<10, true)
}

// decodeBody decodes a JSON body of at most limit bytes into v: exactly
// one value, and with strict no field v does not have.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, limit int64, strict bool) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return patchday.Errorf(patchday.ErrInvalid, "send a JSON body with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return patchday.Errorf(patchday.ErrInvalid, "the JSON body is larger than the %d bytes allowed", limit)
		}
		return patchday.Errorf(patchday.ErrInvalid, "the JSON body could not be read: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return patchday.Errorf(patchday.ErrInvalid, "the JSON body must hold exactly one object")
	}
	return nil
}

func (s *Server) apiAddProduct(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   string `json:"name"`
		Vendor string `json:"vendor"`
		Scheme string `json:"scheme"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	p, err := s.Products.Add(r.Context(), actor(r), in.Name, in.Vendor, in.Scheme)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPIProduct(p, nil))
	return nil
}

func (s *Server) apiAddVersion(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Version string `json:"version"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	v, err := s.Products.AddVersion(r.Context(), actor(r), r.PathValue("name"), in.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiVersion{Version: v.Version, CreatedAt: v.CreatedAt})
	return nil
}
