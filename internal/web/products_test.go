package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func apiPost(path, token, contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestProductsAPI(t *testing.T) {
	h := newHarness(t)
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	rm, dev := h.token("rm@example.com"), h.token("dev@example.com")
	const js = "application/json"

	tests := []struct {
		name, path, token, ctype, body string
		code                           int
		want                           string
	}{
		{"add", "/api/v1/products", rm, js, `{"name":"Gateway","vendor":"Example Corp","scheme":"debian"}`, 201, `"scheme": "debian"`},
		{"default scheme", "/api/v1/products", rm, js, `{"name":"Agent","vendor":"Example Corp"}`, 201, `"scheme": "semver"`},
		{"duplicate", "/api/v1/products", rm, js, `{"name":"Gateway","vendor":"X"}`, 409, "already exists"},
		{"every problem", "/api/v1/products", rm, js, `{"name":"","vendor":"","scheme":"calver"}`, 422, `"scheme"`},
		{"unknown field", "/api/v1/products", rm, js, `{"name":"A","vendor":"B","colour":"red"}`, 422, "unknown field"},
		{"not json", "/api/v1/products", rm, "text/plain", `name=A`, 422, "Content-Type: application/json"},
		{"two objects", "/api/v1/products", rm, js, `{"name":"A","vendor":"B"}{}`, 422, "exactly one object"},
		{"developer may not", "/api/v1/products", dev, js, `{"name":"A","vendor":"B"}`, 403, "release-manager"},
		{"version", "/api/v1/products/Gateway/versions", rm, js, `{"version":"7.88.1-10+deb12u15"}`, 201, `"7.88.1-10+deb12u15"`},
		{"older version", "/api/v1/products/Gateway/versions", rm, js, `{"version":"7.88.1-10+deb12u5"}`, 201, `"7.88.1-10+deb12u5"`},
		{"bad version", "/api/v1/products/Agent/versions", rm, js, `{"version":"1.4"}`, 422, "semantic version"},
		{"no such product", "/api/v1/products/Nope/versions", rm, js, `{"version":"1.0.0"}`, 404, "no product named"},
	}
	for _, tt := range tests {
		rec := h.do(apiPost(tt.path, tt.token, tt.ctype, tt.body))
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: %d %s; want %d containing %q", tt.name, rec.Code, rec.Body, tt.code, tt.want)
		}
	}

	rec := h.do(apiGet("/api/v1/products", "Bearer "+dev))
	var out struct {
		Products []struct {
			Name     string
			Versions []struct{ Version string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 {
		t.Fatalf("GET /api/v1/products: %d %s", rec.Code, rec.Body)
	}
	var got []string
	for _, p := range out.Products {
		for _, v := range p.Versions {
			got = append(got, p.Name+" "+v.Version)
		}
	}
	if want := "Gateway 7.88.1-10+deb12u5,Gateway 7.88.1-10+deb12u15"; strings.Join(got, ",") != want {
		t.Errorf("versions %q, want %q (Debian order, not string order)", strings.Join(got, ","), want)
	}
}

func TestProductsPage(t *testing.T) {
	h := newHarness(t)
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	dev := h.signIn("dev@example.com", "a long enough password")

	rec := h.do(post("/staff/products", url.Values{"name": {"Gateway"}, "vendor": {"Example"}, "scheme": {"debian"}}, rm))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("add product: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(post("/staff/products/versions", url.Values{"product": {"Gateway"}, "version": {"not_a_version"}}, rm))
	if body := rec.Body.String(); rec.Code != 422 || !strings.Contains(body, "is not a Debian version") || !strings.Contains(body, `value="not_a_version"`) {
		t.Errorf("bad version: %d; want 422 with the problem beside the field and the input kept:\n%s", rec.Code, body)
	}
	if rec := h.do(post("/staff/products", url.Values{"name": {"X"}, "vendor": {"Y"}}, dev)); rec.Code != http.StatusForbidden {
		t.Errorf("developer adding a product: %d, want 403", rec.Code)
	}
	body := h.do(get("/staff/products", dev)).Body.String()
	if !strings.Contains(body, "Gateway") || strings.Contains(body, "Add a product") {
		t.Errorf("developer's products page: want the list without the forms:\n%s", body)
	}
}
