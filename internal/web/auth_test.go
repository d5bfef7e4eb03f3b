package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/secret"
	"github.com/patchday/patchday/internal/staff"
)

const (
	adminEmail = "admin@example.com"
	adminPass  = "correct horse battery"
)

func TestCrossOriginProtection(t *testing.T) {
	tests := []struct {
		name    string
		header  map[string]string
		allowed bool
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"same-site is another origin", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"foreign Origin, no fetch metadata", map[string]string{"Origin": "https://evil.example"}, false},
		{"same-origin fetch metadata", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"Origin matching Host, no fetch metadata", map[string]string{"Origin": "http://example.com"}, true},
		{"no headers (a CLI client)", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.addUser(adminEmail, "admin", adminPass)
			before := h.auditActions()

			r := post("/staff/signin", url.Values{"email": {adminEmail}, "password": {adminPass}}, "")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			rec := h.do(r)
			added := h.auditActions()[len(before):]

			if !tt.allowed {
				if rec.Code != http.StatusForbidden {
					t.Fatalf("status %d, want 403", rec.Code)
				}
				if want := "cross-origin request refused"; !strings.Contains(rec.Body.String(), want) {
					t.Errorf("body lacks %q:\n%s", want, rec.Body)
				}
				if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("Set-Cookie %q on a refused request", sc)
				}
				if len(added) != 0 {
					t.Errorf("audit entries %q added by a refused request", added)
				}
				return
			}
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303; body:\n%s", rec.Code, rec.Body)
			}
			if c := responseCookie(rec, sessionCookie); c == nil || c.Value == "" {
				t.Errorf("no session cookie in %q", rec.Header().Values("Set-Cookie"))
			}
			if diff := cmp.Diff([]string{"session.create"}, added); diff != "" {
				t.Errorf("audit entries added (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCrossOriginSignOut checks that the protection covers signed-in forms
// too: a cross-site sign-out is refused and the session lives on.
func TestCrossOriginSignOut(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	session := h.signIn(adminEmail, adminPass)
	r := post("/staff/signout", nil, session)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := h.do(r); rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site sign-out: status %d, want 403", rec.Code)
	}
	if rec := h.do(get("/staff/", session)); rec.Code != http.StatusOK {
		t.Errorf("GET /staff/ after a refused sign-out: status %d, want 200", rec.Code)
	}
}

func TestSignIn(t *testing.T) {
	tests := []struct {
		name string
		next string
		want string
	}{
		{"no next", "", "/staff/"},
		{"safe next", "/staff/audit?before=10", "/staff/audit?before=10"},
		{"open redirect attempt", "//evil.example/staff/", "/staff/"},
		{"another site", "https://evil.example/staff/", "/staff/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.addUser(adminEmail, "admin", adminPass)
			rec := h.do(post("/staff/signin", url.Values{"email": {adminEmail}, "password": {adminPass}, "next": {tt.next}}, ""))
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303; body:\n%s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.want {
				t.Errorf("Location = %q, want %q", got, tt.want)
			}
			c := responseCookie(rec, sessionCookie)
			if c == nil {
				t.Fatalf("no session cookie in %q", rec.Header().Values("Set-Cookie"))
			}
			if !strings.HasPrefix(c.Value, staff.SessionPrefix) {
				t.Errorf("cookie value %q lacks the %s prefix", c.Value, staff.SessionPrefix)
			}
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("cookie HttpOnly=%v Secure=%v SameSite=%v Path=%q; want HttpOnly, Secure, Lax, /",
					c.HttpOnly, c.Secure, c.SameSite, c.Path)
			}
			if want := int(sessionTTL.Seconds()); c.MaxAge != want {
				t.Errorf("cookie Max-Age = %d, want %d", c.MaxAge, want)
			}
			if rec := h.do(get("/staff/", c.Value)); rec.Code != http.StatusOK {
				t.Errorf("GET /staff/ with the new session: status %d, want 200", rec.Code)
			}
		})
	}
}

func TestSignInWrongPassword(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	for i, email := range []string{adminEmail, "nobody@example.com"} {
		rec := h.do(post("/staff/signin", url.Values{"email": {email}, "password": {"wrong password here"}, "next": {"/staff/audit"}}, ""))
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i, rec.Code)
		}
		body := rec.Body.String()
		for _, want := range []string{
			"wrong e-mail or password",
			`<form class="card" method="post" action="/staff/signin">`,
			`value="` + email + `"`,
			`name="next" value="/staff/audit"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("attempt %d: body lacks %q:\n%s", i, want, body)
			}
		}
		if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("attempt %d: Set-Cookie %q after a failed sign-in", i, sc)
		}
	}
}

func TestSignInThrottled(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	form := url.Values{"email": {adminEmail}, "password": {"wrong password here"}}
	for i := range 3 {
		if rec := h.do(post("/staff/signin", form, "")); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i, rec.Code)
		}
	}
	// The clock stands still, so the next attempt, even with the right
	// password, falls inside the wait.
	rec := h.do(post("/staff/signin", url.Values{"email": {adminEmail}, "password": {adminPass}}, ""))
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", rec.Code)
	}
	for _, want := range []string{"too many wrong passwords", `value="` + adminEmail + `"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("body lacks %q:\n%s", want, rec.Body)
		}
	}
	if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("Set-Cookie %q while throttled", sc)
	}
}

func TestSigninPage(t *testing.T) {
	tests := []struct {
		path      string
		wantNext  string
		wantFlash bool
	}{
		{"/staff/signin", "/staff/", false},
		{"/staff/signin?next=%2Fstaff%2Fusers", "/staff/users", false},
		{"/staff/signin?next=%2F%2Fevil.example", "/staff/", false},
		{"/staff/signin?next=%2Fstaff%2Faudit&why=expired", "/staff/audit", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			h := newHarness(t)
			rec := h.do(get(tt.path, ""))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			body := rec.Body.String()
			if want := `name="next" value="` + tt.wantNext + `"`; !strings.Contains(body, want) {
				t.Errorf("body lacks %q:\n%s", want, body)
			}
			if got := strings.Contains(body, "Your session has expired"); got != tt.wantFlash {
				t.Errorf("expired flash shown = %v, want %v", got, tt.wantFlash)
			}
		})
	}
}

// TestOneTimePassword checks that an account with a one-time password can
// reach nothing but the password form until it chooses its own.
func TestOneTimePassword(t *testing.T) {
	h := newHarness(t)
	oneTime := h.addUser(adminEmail, "admin", "")

	rec := h.do(post("/staff/signin", url.Values{"email": {adminEmail}, "password": {oneTime}, "next": {"/staff/audit"}}, ""))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/staff/password" {
		t.Fatalf("sign in: %d to %q, want 303 to /staff/password", rec.Code, rec.Header().Get("Location"))
	}
	session := responseCookie(rec, sessionCookie).Value

	for _, path := range []string{"/staff/", "/staff/audit", "/staff/users", "/staff/audit?before=3"} {
		rec := h.do(get(path, session))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/staff/password" {
			t.Errorf("GET %s: %d to %q, want 303 to /staff/password", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	rec = h.do(get("/staff/password", session))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "one-time password") {
		t.Fatalf("GET /staff/password: %d, want 200 with the one-time notice:\n%s", rec.Code, rec.Body)
	}

	// Mistakes are shown field by field and change nothing.
	rec = h.do(post("/staff/password", url.Values{"current": {oneTime}, "password": {"my own long password"}, "confirm": {"my own long passwrod"}}, session))
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "the two new passwords differ") {
		t.Errorf("mismatched confirmation: %d, want 422 naming the difference:\n%s", rec.Code, rec.Body)
	}
	rec = h.do(post("/staff/password", url.Values{"current": {"not it at all"}, "password": {"short"}, "confirm": {"short"}}, session))
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("wrong current and short new password: status %d, want 422", rec.Code)
	}
	for _, want := range []string{`id="current-error"`, `id="password-error"`, `aria-invalid="true"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("password form lacks %q:\n%s", want, rec.Body)
		}
	}
	if rec := h.do(get("/staff/", session)); rec.Code != http.StatusSeeOther {
		t.Errorf("GET /staff/ after failed changes: status %d, want 303", rec.Code)
	}

	rec = h.do(post("/staff/password", url.Values{"current": {oneTime}, "password": {"my own long password"}, "confirm": {"my own long password"}}, session))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/staff/?changed=password" {
		t.Fatalf("change password: %d to %q, want 303 to /staff/?changed=password", rec.Code, rec.Header().Get("Location"))
	}
	rec = h.do(get("/staff/?changed=password", session))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Your password has been changed.") {
		t.Errorf("dashboard after the change: %d, want 200 with the notice", rec.Code)
	}
	if rec := h.do(get("/staff/audit", session)); rec.Code != http.StatusOK {
		t.Errorf("GET /staff/audit after the change: status %d, want 200", rec.Code)
	}
	// The one-time password is spent.
	rec = h.do(post("/staff/signin", url.Values{"email": {adminEmail}, "password": {oneTime}}, ""))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("sign in with the spent one-time password: status %d, want 401", rec.Code)
	}
	h.signIn(adminEmail, "my own long password")
}

func TestBadSession(t *testing.T) {
	tests := []struct {
		name    string
		session func(h *harness) string
	}{
		{"forged", func(*harness) string { return "pds_forged" }},
		{"not a session secret", func(*harness) string { return "hello" }},
		{"unknown", func(*harness) string { s, _ := secret.New(staff.SessionPrefix); return s }},
		{"an API token", func(h *harness) string { return h.token(adminEmail) }},
		{"expired", func(h *harness) string {
			s := h.signIn(adminEmail, adminPass)
			h.clock.Advance(sessionTTL)
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/GET", func(t *testing.T) {
			h := newHarness(t)
			h.addUser(adminEmail, "admin", adminPass)
			rec := h.do(get("/staff/audit?before=7", tt.session(h)))
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", rec.Code)
			}
			want := "/staff/signin?" + url.Values{"next": {"/staff/audit?before=7"}, "why": {"expired"}}.Encode()
			if got := rec.Header().Get("Location"); got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
			checkCleared(t, rec.Header().Values("Set-Cookie"), responseCookie(rec, sessionCookie))
		})
		t.Run(tt.name+"/POST", func(t *testing.T) {
			h := newHarness(t)
			h.addUser(adminEmail, "admin", adminPass)
			rec := h.do(post("/staff/password", url.Values{"current": {adminPass}, "password": {"a new password here"}, "confirm": {"a new password here"}}, tt.session(h)))
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", rec.Code)
			}
			if want := "your session has expired"; !strings.Contains(rec.Body.String(), want) {
				t.Errorf("body lacks %q:\n%s", want, rec.Body)
			}
			checkCleared(t, rec.Header().Values("Set-Cookie"), responseCookie(rec, sessionCookie))
			h.signIn(adminEmail, adminPass) // the password did not change
		})
	}
}

func checkCleared(t *testing.T, raw []string, c *http.Cookie) {
	t.Helper()
	if c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("session cookie not cleared: Set-Cookie %q", raw)
	}
}

func TestNoSession(t *testing.T) {
	h := newHarness(t)
	rec := h.do(get("/staff/users", ""))
	if want := "/staff/signin?next=%2Fstaff%2Fusers"; rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
		t.Errorf("GET without a session: %d to %q, want 303 to %q", rec.Code, rec.Header().Get("Location"), want)
	}
	if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("Set-Cookie %q without a session", sc)
	}
	rec = h.do(post("/staff/signout", nil, ""))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "please sign in first") {
		t.Errorf("POST without a session: %d, want 401 asking to sign in:\n%s", rec.Code, rec.Body)
	}
	if rec := h.do(get("/", "")); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/report" {
		t.Errorf("GET /: %d to %q, want 303 to the report form", rec.Code, rec.Header().Get("Location"))
	}
}

func TestSignOut(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	session := h.signIn(adminEmail, adminPass)
	other := h.signIn(adminEmail, adminPass) // another browser

	rec := h.do(post("/staff/signout", nil, session))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/staff/signin" {
		t.Fatalf("sign out: %d to %q, want 303 to /staff/signin", rec.Code, rec.Header().Get("Location"))
	}
	checkCleared(t, rec.Header().Values("Set-Cookie"), responseCookie(rec, sessionCookie))
	if got := h.auditActions(); got[len(got)-1] != "session.delete" {
		t.Errorf("last audit action %q, want session.delete", got[len(got)-1])
	}

	// A copy of the old cookie is worthless now: the session is gone from
	// the server, not just from the browser.
	rec = h.do(get("/staff/", session))
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "why=expired") {
		t.Errorf("GET /staff/ with the old cookie: %d to %q, want 303 to sign-in, expired", rec.Code, rec.Header().Get("Location"))
	}
	if rec := h.do(post("/staff/signout", nil, session)); rec.Code != http.StatusUnauthorized {
		t.Errorf("sign out again with the old cookie: status %d, want 401", rec.Code)
	}
	if rec := h.do(get("/staff/", other)); rec.Code != http.StatusOK {
		t.Errorf("the other session: status %d, want 200", rec.Code)
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "/staff/"},
		{"/staff/", "/staff/"},
		{"/staff/audit?before=10&limit=5", "/staff/audit?before=10&limit=5"},
		{"/staff", "/staff/"},
		{"/metrics", "/staff/"},
		{"//evil.example", "/staff/"},
		{"//evil.example/staff/", "/staff/"},
		{"https://evil.example", "/staff/"},
		{"https://evil.example/staff/", "/staff/"},
		{"javascript:alert(1)", "/staff/"},
		{"/staff/\\evil", "/staff/"},
		{"/\\evil", "/staff/"},
		{"\\\\evil.example", "/staff/"},
		{"/staff/x\r\nLocation: y", "/staff/"},
		{"/staff/x\nSet-Cookie: a=b", "/staff/"},
		{"staff/", "/staff/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"", "/staff/", "/staff/audit?before=1", "//evil.example", "https://evil.example",
		"/staff/\\evil", "/\\evil", "/staff/x\r\nLocation: y", "/staff/\t/evil", "/staff/../../x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://patchday.example/staff/signin")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/staff/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		if got != next && got != "/staff/" {
			t.Fatalf("safeNext(%q) = %q, want the input or /staff/", next, got)
		}
		if again := safeNext(got); again != got {
			t.Fatalf("safeNext(safeNext(%q)) = %q, want %q", next, again, got)
		}
		// Wherever it leads, it stays on this host.
		if u, err := url.Parse(got); err == nil {
			if r := base.ResolveReference(u); r.Host != base.Host {
				t.Fatalf("safeNext(%q) = %q resolves to host %q", next, got, r.Host)
			}
		}
	})
}

func TestAPIAuth(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	h.addUser("triager@example.com", "triager,tester", "another long password")
	admin, triager := h.token(adminEmail), h.token("triager@example.com")
	unknown, _ := secret.New(staff.TokenPrefix)
	sessionSecret := h.signIn(adminEmail, adminPass)

	tests := []struct {
		name, path, authz string
		code              int
		wantErr           string // a part of the error message
	}{
		{"no header", "/api/v1/me", "", http.StatusUnauthorized, "an API token is required"},
		{"basic", "/api/v1/me", "Basic x", http.StatusUnauthorized, "malformed Authorization header"},
		{"no scheme", "/api/v1/me", admin, http.StatusUnauthorized, "malformed Authorization header"},
		{"garbage token", "/api/v1/me", "Bearer garbage", http.StatusUnauthorized, `starting with "pdt_"`},
		{"truncated token", "/api/v1/me", "Bearer " + admin[:20], http.StatusUnauthorized, "base64url characters"},
		{"session secret as token", "/api/v1/me", "Bearer " + sessionSecret, http.StatusUnauthorized, `starting with "pdt_"`},
		{"unknown token", "/api/v1/me", "Bearer " + unknown, http.StatusUnauthorized, "unknown or revoked API token"},
		{"non-admin on audit", "/api/v1/audit", "Bearer " + triager, http.StatusForbidden, "this needs the admin role"},
		{"non-admin on me", "/api/v1/me", "Bearer " + triager, http.StatusOK, ""},
		{"admin on audit", "/api/v1/audit", "Bearer " + admin, http.StatusOK, ""},
		{"scheme in any case", "/api/v1/me", "bearer " + admin, http.StatusOK, ""},
		{"unknown endpoint", "/api/v1/nope", "Bearer " + admin, http.StatusNotFound, "no API endpoint GET /api/v1/nope"},
		{"unknown endpoint, no token", "/api/v1/nope", "", http.StatusNotFound, "no API endpoint GET /api/v1/nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(apiGet(tt.path, tt.authz))
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d; body:\n%s", rec.Code, tt.code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			wantAuth := ""
			if tt.code == http.StatusUnauthorized {
				wantAuth = `Bearer realm="patchday"`
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
			}
			if tt.wantErr == "" {
				return
			}
			var b errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
			}
			if !strings.Contains(b.Error, tt.wantErr) {
				t.Errorf("error %q lacks %q", b.Error, tt.wantErr)
			}
			if b.ID != "" {
				t.Errorf("id %q on a %d; ids are for 500s", b.ID, tt.code)
			}
		})
	}
}

func TestAPIMe(t *testing.T) {
	h := newHarness(t)
	h.addUser("Triager@Example.com", "tester,triager", "another long password")
	rec := h.do(apiGet("/api/v1/me", "Bearer "+h.token("triager@example.com")))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	var got apiUser
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || got.CreatedAt.IsZero() {
		t.Errorf("id %d, created_at %v; want both set", got.ID, got.CreatedAt)
	}
	if got.Email != "triager@example.com" || !slices.Equal(got.Roles, []string{"triager", "tester"}) {
		t.Errorf("got %s %q, want triager@example.com [triager tester]", got.Email, got.Roles)
	}
}
