package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/staff"
)

// sessionCookie holds the session secret. It is Secure (browsers treat
// http://localhost as secure, so a local trial works), HttpOnly (no script
// reads it) and SameSite=Lax (links from e-mail still arrive signed in;
// cross-site POSTs are refused separately).
const sessionCookie = "patchday_session"

type userKey struct{}

// userFrom returns the signed-in account of a request that passed staffPage or api.
func userFrom(ctx context.Context) staff.User {
	u, _ := ctx.Value(userKey{}).(staff.User)
	return u
}

// remote is where a request came from, for the audit log.
func remote(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func actor(r *http.Request) audit.Actor {
	return audit.Actor{Who: userFrom(r.Context()).Email, From: remote(r)}
}

// staffPage guards a staff page: it needs a live session and, unless role
// is empty, that role. A session that must change its one-time password can
// do nothing else first.
func (s *Server) staffPage(role staff.Role, h handlerFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			return s.toSignin(w, r, "")
		}
		u, err := s.Staff.SessionUser(r.Context(), c.Value)
		if errors.Is(err, patchday.ErrUnauthenticated) {
			clearSessionCookie(w)
			return s.toSignin(w, r, patchday.Message(err))
		} else if err != nil {
			return err
		}
		if u.MustChangePassword && r.URL.Path != "/staff/password" && r.URL.Path != "/staff/signout" {
			http.Redirect(w, r, "/staff/password", http.StatusSeeOther)
			return nil
		}
		if role != "" {
			if err := u.Roles.Require(role); err != nil {
				return err
			}
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

// toSignin sends a browser to the sign-in page, remembering where it was
// going. A POST cannot be replayed after sign-in, so it gets a 401 page.
func (s *Server) toSignin(w http.ResponseWriter, r *http.Request, why string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if why == "" {
			why = "please sign in first"
		}
		return patchday.Errorf(patchday.ErrUnauthenticated, "%s", why)
	}
	q := url.Values{"next": {r.URL.RequestURI()}}
	if why != "" {
		q.Set("why", "expired")
	}
	http.Redirect(w, r, "/staff/signin?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in redirect on our own staff pages, so the
// sign-in form cannot be used as an open redirect.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/staff/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/staff/"
}

func (s *Server) setSessionCookie(w http.ResponseWriter, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/",
		MaxAge: int(s.SessionTTL.Seconds()), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// api guards a JSON API route with an API token (Authorization: Bearer).
func (s *Server) api(role staff.Role, h handlerFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		authz := r.Header.Get("Authorization")
		if authz == "" {
			return patchday.Errorf(patchday.ErrUnauthenticated, "an API token is required: send \"Authorization: Bearer pdt_…\" (create one with `patchday token create`)")
		}
		scheme, secret, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return patchday.Errorf(patchday.ErrUnauthenticated, "malformed Authorization header: expected \"Bearer pdt_…\"")
		}
		u, err := s.Staff.TokenUser(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			return err
		}
		if role != "" {
			if err := u.Roles.Require(role); err != nil {
				return err
			}
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}
