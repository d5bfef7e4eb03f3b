package web

import (
	"errors"
	"net/http"

	"github.com/patchday/patchday"
)

type signinData struct {
	Email string
	Next  string
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) error {
	p := page{Title: "Sign in", Data: signinData{Next: safeNext(r.URL.Query().Get("next"))}}
	if r.URL.Query().Get("why") == "expired" {
		p.Flash = "Your session has expired; please sign in again."
	}
	s.render(w, r, http.StatusOK, "signin.html", p)
	return nil
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return patchday.Errorf(patchday.ErrInvalid, "the sign-in form could not be read")
	}
	email, next := r.PostForm.Get("email"), safeNext(r.PostForm.Get("next"))
	secret, u, err := s.Staff.SignIn(r.Context(), email, r.PostForm.Get("password"), remote(r))
	if errors.Is(err, patchday.ErrUnauthenticated) || errors.Is(err, patchday.ErrTooManyRequests) {
		s.render(w, r, status(err), "signin.html", page{Title: "Sign in", Flash: patchday.Message(err),
			Data: signinData{Email: email, Next: next}})
		return nil
	} else if err != nil {
		return err
	}
	s.setSessionCookie(w, secret)
	if u.MustChangePassword {
		next = "/staff/password"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(sessionCookie)
	if err == nil {
		if err := s.Staff.SignOut(r.Context(), userFrom(r.Context()), c.Value, remote(r)); err != nil {
			return err
		}
	}
	clearSessionCookie(w)
	http.Redirect(w, r, "/staff/signin", http.StatusSeeOther)
	return nil
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request) error {
	p := page{Title: "Change password"}
	if userFrom(r.Context()).MustChangePassword {
		p.Flash = "You signed in with a one-time password. Choose your own password to continue."
	}
	s.render(w, r, http.StatusOK, "password.html", p)
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return patchday.Errorf(patchday.ErrInvalid, "the form could not be read")
	}
	f := r.PostForm
	p := page{Title: "Change password"}
	if f.Get("password") != f.Get("confirm") {
		p.Fields = map[string]string{"confirm": "the two new passwords differ"}
		s.render(w, r, http.StatusUnprocessableEntity, "password.html", p)
		return nil
	}
	var keep string
	if c, err := r.Cookie(sessionCookie); err == nil {
		keep = c.Value
	}
	err := s.Staff.ChangePassword(r.Context(), userFrom(r.Context()), f.Get("current"), f.Get("password"), remote(r), keep)
	switch {
	case errors.Is(err, patchday.ErrInvalid):
		p.Fields = patchday.FieldErrors(err)
		s.render(w, r, http.StatusUnprocessableEntity, "password.html", p)
		return nil
	case errors.Is(err, patchday.ErrTooManyRequests):
		p.Flash = patchday.Message(err)
		s.render(w, r, http.StatusTooManyRequests, "password.html", p)
		return nil
	case err != nil:
		return err
	}
	http.Redirect(w, r, "/staff/?changed=password", http.StatusSeeOther)
	return nil
}
