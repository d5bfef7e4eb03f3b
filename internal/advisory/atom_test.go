package advisory

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// feed is what a reader takes from an Atom document.
type feed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  string   `xml:"author>name"`
	Links   []link   `xml:"link"`
	Entries []entry  `xml:"entry"`
}

type entry struct {
	ID        string `xml:"id"`
	Title     string `xml:"title"`
	Updated   string `xml:"updated"`
	Published string `xml:"published"`
	Links     []link `xml:"link"`
	Summary   string `xml:"summary"`
	Content   string `xml:"content"`
	Category  []struct {
		Term string `xml:"term,attr"`
	} `xml:"category"`
}

type link struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
}

func TestAtom(t *testing.T) {
	older, newest, noURL := rich(t), rich(t), minimal(t)
	older.ID, older.Title, older.URL = "PDSA-2025-0042", `Cross-site scripting in <Widget> & "Gadget"`, "https://example.com/advisories/PDSA-2025-0042"
	older.Revisions = older.Revisions[:1]
	older.Revisions[0].Date = time.Date(2025, 12, 9, 17, 0, 0, 0, time.UTC)
	newest.Revisions = append(newest.Revisions, Revision{Number: "3", Date: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Summary: "Fixed versions corrected"})

	const self = "https://example.com/advisories.atom"
	doc, err := Atom("Example Corp security advisories", self, time.Time{}, []Advisory{older, noURL, newest})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "feed.atom", doc)
	if !bytes.HasPrefix(doc, []byte(xml.Header)) {
		t.Errorf("no XML declaration")
	}
	var f feed
	if err := xml.Unmarshal(doc, &f); err != nil {
		t.Fatalf("parse: %v\n%s", err, doc)
	}
	if f.ID != self || f.Title != "Example Corp security advisories" || f.Author == "" {
		t.Errorf("feed id, title, author = %q, %q, %q", f.ID, f.Title, f.Author)
	}
	if f.Updated != "2026-03-01T08:00:00Z" {
		t.Errorf("feed updated = %q, want the newest entry's", f.Updated)
	}
	if want := []link{{"self", self}}; !cmp.Equal(f.Links, want) {
		t.Errorf("feed links = %v, want %v", f.Links, want)
	}
	type row struct{ ID, Title, Updated, Published, Alternate, Summary, Content string }
	var got []row
	for _, e := range f.Entries {
		r := row{e.ID, e.Title, e.Updated, e.Published, "", e.Summary, e.Content}
		for _, l := range e.Links {
			if l.Rel == "alternate" {
				r.Alternate = l.Href
			}
		}
		got = append(got, r)
	}
	want := []row{
		{newest.URL, "PDSA-2026-0007: " + newest.Title, "2026-03-01T08:00:00Z", "2026-01-13T17:00:00Z", newest.URL, newest.Summary, ""},
		{"tag:example.com,2026-02-10:PDSA-2026-0008", "PDSA-2026-0008: " + noURL.Title, "2026-02-10T17:00:00Z", "2026-02-10T17:00:00Z", "", "", noURL.Summary},
		{older.URL, "PDSA-2025-0042: " + older.Title, "2025-12-09T17:00:00Z", "2025-12-09T17:00:00Z", older.URL, older.Summary, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries, newest first (-want +got):\n%s", diff)
	}
	if len(f.Entries) == 3 {
		var terms []string
		for _, c := range f.Entries[0].Category {
			terms = append(terms, c.Term)
		}
		if want := []string{"Critical", "CVE-2026-12345", "CVE-2026-12346"}; !cmp.Equal(terms, want) {
			t.Errorf("categories = %v, want %v", terms, want)
		}
	}
}

func TestAtomEdges(t *testing.T) {
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	doc, err := Atom("Advisories", "https://example.com/feed", at, nil)
	if err != nil {
		t.Fatal(err)
	}
	var f feed
	if err := xml.Unmarshal(doc, &f); err != nil {
		t.Fatal(err)
	}
	if f.Updated != "2026-04-01T00:00:00Z" || len(f.Entries) != 0 {
		t.Errorf("empty feed: updated %q, %d entries", f.Updated, len(f.Entries))
	}

	// Text XML cannot hold is replaced, not written out.
	a := rich(t)
	a.Title = "bell \a and nul \x00"
	doc, err = Atom("Advisories", "https://example.com/feed", at, []Advisory{a})
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(doc, &f); err != nil {
		t.Fatalf("parse: %v\n%s", err, doc)
	}

	for _, tt := range []struct {
		name, title, self string
		as                []Advisory
	}{
		{"relative self", "Advisories", "/feed", nil},
		{"no title", " ", "https://example.com/feed", nil},
		{"unrevised advisory", "Advisories", "https://example.com/feed", []Advisory{{ID: "PDSA-2026-0001"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Atom(tt.title, tt.self, at, tt.as); err == nil || !strings.Contains(err.Error(), "atom") {
				t.Errorf("err = %v, want a refusal", err)
			}
		})
	}
}
