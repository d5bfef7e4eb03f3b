package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/advisory"
	"github.com/patchday/patchday/internal/release"
)

// Subscriptions, advance notices and bulletins.

// noticeText is the advance notice of a release: products and the
// highest severity only, nothing that would help an attacker.
func noticeText(row releaseRow) string {
	return fmt.Sprintf("Our security release of %s will contain fixes for: %s.\nThe highest severity is %s.\n"+
		"Details follow at release time.\n", row.At.UTC().Format("Monday 2 January 2006, 15:04 UTC"),
		strings.Join(row.Products, ", "), orNone(row.Highest))
}

// bulletinText summarises every advisory of a published release.
func (s *Server) bulletinText(r *http.Request, row releaseRow) (string, error) {
	ds, err := s.Releases.Advisories(r.Context(), row.ID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Our security release of %s is out.\n\n", row.At.UTC().Format("2 January 2006"))
	for _, d := range ds {
		a, err := s.build(r, d, row.Release)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s  %s (%s)\n  %s\n", a.ID, a.Title, orNone(a.CVSSRating), a.URL)
		if a.Exploited {
			fmt.Fprintf(&b, "  ACTIVELY EXPLOITED: %s\n", advisory.ExploitedNote)
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// SendNotifications mails the advance notices that are due and the
// bulletins of published releases, each once. The server calls it on its
// schedule, under a lease.
func (s *Server) SendNotifications(ctx context.Context) (int, error) {
	if s.Subscriptions == nil || !s.Subscriptions.Available() {
		return 0, nil
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.Disclosure.PublicURL, "/")+"/", nil)
	if err != nil {
		return 0, err
	}
	rels, err := s.Releases.Upcoming(ctx, 3)
	if err != nil {
		return 0, err
	}
	// Bulletins still owed from older releases (the relay was down for
	// longer than the coming releases reach back) are sent too.
	owing, err := s.Subscriptions.Owing(ctx, "bulletin")
	if err != nil {
		return 0, err
	}
	for _, id := range owing {
		if !slices.ContainsFunc(rels, func(x release.Release) bool { return x.ID == id }) {
			old, err := s.Releases.ByID(ctx, id)
			if err != nil {
				return 0, err
			}
			rels = withReleases(rels, old)
		}
	}
	rows, _, err := s.rowsOf(r, rels)
	if err != nil {
		return 0, err
	}
	now := s.Now().UTC()
	sent := 0
	for _, row := range rows {
		var n int
		day := row.At.UTC().Format("2 January 2006")
		switch s.announced(row, now) {
		case announceBulletin:
			n, err = s.Subscriptions.Notify(ctx, row.ID, "bulletin", "Security bulletin: release of "+day,
				func() (string, error) { return s.bulletinText(r, row) })
		case announceNotice:
			n, err = s.Subscriptions.Notify(ctx, row.ID, "notice", "Advance notice: security release on "+day,
				func() (string, error) { return noticeText(row), nil })
		}
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// What the public may know of a release, by the embargo rules.
const (
	announceNothing  = iota // the date only
	announceNotice          // products and highest severity
	announceBulletin        // published: everything
)

// announced says what may be told of a release now: the calendar, the
// public releases page and the subscriber mail all ask here.
func (s *Server) announced(row releaseRow, now time.Time) int {
	switch {
	case row.Published():
		return announceBulletin
	case len(row.Cases) > 0 && !now.Before(s.noticeDue(row.At)):
		return announceNotice
	}
	return announceNothing
}

type publicReleasesPage struct {
	Notices      []releaseRow
	Bulletins    []bulletin
	CanSubscribe bool
}

type bulletin struct {
	releaseRow
	Text string
}

// withReleases adds releases not yet in rels, keeping them in time order.
func withReleases(rels []release.Release, more ...release.Release) []release.Release {
	for _, x := range more {
		if !slices.ContainsFunc(rels, func(y release.Release) bool { return y.ID == x.ID }) {
			rels = append(rels, x)
		}
	}
	slices.SortStableFunc(rels, func(a, b release.Release) int { return a.At.Compare(b.At) })
	return rels
}

// publicReleases is the page form of the notices and bulletins: what is
// announced for the coming releases, and what the last ones fixed.
func (s *Server) publicReleases(w http.ResponseWriter, r *http.Request) error {
	rels, err := s.Releases.Upcoming(r.Context(), 3)
	if err != nil {
		return err
	}
	// The bulletins of the last three releases stay up, however long ago.
	last, err := s.Releases.LastPublished(r.Context(), 3)
	if err != nil {
		return err
	}
	rels = withReleases(rels, last...)
	rows, _, err := s.rowsOf(r, rels)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	p := publicReleasesPage{CanSubscribe: s.Subscriptions != nil && s.Subscriptions.Available()}
	for _, row := range rows {
		switch s.announced(row, now) {
		case announceBulletin:
			text, err := s.bulletinText(r, row)
			if err != nil {
				return err
			}
			p.Bulletins = append(p.Bulletins, bulletin{row, text})
		case announceNotice:
			p.Notices = append(p.Notices, row)
		}
	}
	s.render(w, r, http.StatusOK, "public-releases.html", page{Title: "Security releases", Data: p})
	return nil
}

func (s *Server) subscribePage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "subscribe.html", page{Title: "Subscribe to security notices",
		Data: subscribeData{Available: s.Subscriptions != nil && s.Subscriptions.Available(), Step: "form"}})
	return nil
}

type subscribeData struct {
	Available bool
	Step      string // form, sent, confirm, confirmed, leave, left
	Token     string
	Email     string
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	d := subscribeData{Available: s.Subscriptions != nil && s.Subscriptions.Available(), Step: "sent", Email: email}
	var err error
	if s.Subscriptions == nil {
		err = patchday.Errorf(patchday.ErrConflict, "this server takes no subscriptions")
	} else {
		err = s.Subscriptions.Subscribe(r.Context(), email)
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		d.Step = "form"
		s.render(w, r, status(err), "subscribe.html", page{Title: "Subscribe to security notices", Flash: patchday.Summary(err),
			Fields: patchday.FieldErrors(err), Data: d})
		return nil
	} else if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "subscribe.html", page{Title: "Subscribe to security notices", Data: d})
	return nil
}

// The links in mail only show a button: mail scanners follow links, and
// must not confirm or cancel anything by doing so.
func (s *Server) subscriptionStep(step string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		d := subscribeData{Available: true, Step: step, Token: r.PathValue("token")}
		if r.Method == http.MethodPost {
			var err error
			if s.Subscriptions == nil {
				return patchday.Errorf(patchday.ErrNotFound, "this server takes no subscriptions")
			}
			if step == "confirm" {
				err, d.Step = s.Subscriptions.Confirm(r.Context(), d.Token), "confirmed"
			} else {
				err, d.Step = s.Subscriptions.Leave(r.Context(), d.Token), "left"
			}
			if err != nil {
				return err
			}
		}
		s.render(w, r, http.StatusOK, "subscribe.html", page{Title: "Security notices", Data: d})
		return nil
	}
}
