package advisory

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// Atom renders an Atom 1.0 feed (RFC 4287) of the advisories, newest first
// by their latest revision. The feed's id is selfURL; an entry's id is its
// advisory's URL, or a tag URI (RFC 4151) on selfURL's host and the day of
// the initial release when it has none. updated, when zero, is the newest
// advisory's.
//
// RFC 4287 requires a feed author; the feed's title names it, since this
// signature has no publisher.
func Atom(feedTitle, selfURL string, updated time.Time, as []Advisory) ([]byte, error) {
	self, err := url.Parse(selfURL)
	if err != nil || !self.IsAbs() || self.Hostname() == "" {
		return nil, fmt.Errorf("render atom feed: self URL %q is not an absolute URL", selfURL)
	}
	if blank(feedTitle) {
		return nil, fmt.Errorf("render atom feed: a title is required")
	}
	sorted := slices.Clone(as)
	slices.SortStableFunc(sorted, func(x, y Advisory) int {
		return cmp.Or(y.CurrentRelease().Compare(x.CurrentRelease()), cmp.Compare(y.ID, x.ID))
	})
	if updated.IsZero() && len(sorted) > 0 {
		updated = sorted[0].CurrentRelease()
	}
	f := atomFeed{
		ID:        selfURL,
		Title:     atomText{Type: "text", Text: feedTitle},
		Updated:   timestamp(updated),
		Author:    atomPerson{Name: feedTitle},
		Generator: "patchday",
		Links:     []atomLink{{Rel: "self", Type: "application/atom+xml", Href: selfURL}},
	}
	for _, a := range sorted {
		if len(a.Revisions) == 0 {
			return nil, fmt.Errorf("render atom feed: advisory %s has no revision", a.ID)
		}
		e := atomEntry{
			ID:        a.URL,
			Title:     atomText{Type: "text", Text: a.ID + ": " + a.Title},
			Updated:   timestamp(a.CurrentRelease()),
			Published: timestamp(a.InitialRelease()),
		}
		if a.URL == "" {
			e.ID = fmt.Sprintf("tag:%s,%s:%s", self.Hostname(), a.InitialRelease().UTC().Format(time.DateOnly), a.ID)
			// Without an alternate link, RFC 4287 wants the content inline.
			e.Content = &atomText{Type: "text", Text: a.Summary}
		} else {
			e.Links = []atomLink{{Rel: "alternate", Type: "text/html", Href: a.URL}}
			e.Summary = &atomText{Type: "text", Text: a.Summary}
		}
		if a.CVSSRating != "" {
			e.Categories = append(e.Categories, atomCategory{Term: a.CVSSRating, Label: "Severity: " + a.CVSSRating})
		}
		for _, c := range a.CVEs {
			e.Categories = append(e.Categories, atomCategory{Term: c})
		}
		f.Entries = append(f.Entries, e)
	}
	b, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render atom feed: %w", err)
	}
	return append(append([]byte(xml.Header), b...), '\n'), nil
}

type atomFeed struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID        string      `xml:"id"`
	Title     atomText    `xml:"title"`
	Updated   string      `xml:"updated"`
	Author    atomPerson  `xml:"author"`
	Generator string      `xml:"generator"`
	Links     []atomLink  `xml:"link"`
	Entries   []atomEntry `xml:"entry"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      atomText       `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    *atomText      `xml:"summary"`
	Content    *atomText      `xml:"content"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomCategory struct {
	Term  string `xml:"term,attr"`
	Label string `xml:"label,attr,omitempty"`
}
