// Command gen turns MITRE's CWE catalogue (the gzip'd XML from
// https://cwe.mitre.org/data/downloads.html) into the small gzip'd JSON
// table that package cwe embeds. The catalogue is 15 MB of XML; the table
// keeps only what a report form and the training roll-ups need.
//
// Usage:
//
//	go run ./gen -in cwec_v4.15.xml.gz -out cwe.json.gz
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// researchView is the Research Concepts view, the one hierarchy in which
// every weakness has exactly one primary parent up to a pillar.
const researchView = "1000"

// table is the JSON written to -out; package cwe reads the same shape.
type table struct {
	Version    string     `json:"version"`
	Date       string     `json:"date"`
	Weaknesses []weakness `json:"weaknesses"`
	Deprecated []int      `json:"deprecated"`
	Categories []category `json:"categories"`
}

type weakness struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Abstraction string `json:"abstraction"`
	Status      string `json:"status"`
	Parents     []int  `json:"parents,omitempty"` // primary first
}

type category struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// weaknessXML is one <Weakness>; decoding element by element keeps only
// the attributes and relations in memory, never the whole catalogue.
type weaknessXML struct {
	ID          int    `xml:"ID,attr"`
	Name        string `xml:"Name,attr"`
	Abstraction string `xml:"Abstraction,attr"`
	Status      string `xml:"Status,attr"`
	Related     []struct {
		Nature  string `xml:"Nature,attr"`
		CWEID   int    `xml:"CWE_ID,attr"`
		ViewID  string `xml:"View_ID,attr"`
		Ordinal string `xml:"Ordinal,attr"`
	} `xml:"Related_Weaknesses>Related_Weakness"`
}

type categoryXML struct {
	ID     int    `xml:"ID,attr"`
	Name   string `xml:"Name,attr"`
	Status string `xml:"Status,attr"`
}

func main() {
	in := flag.String("in", "", "MITRE CWE catalogue, gzip'd XML (cwec_vX.Y.xml.gz)")
	out := flag.String("out", "cwe.json.gz", "table to write, gzip'd JSON")
	flag.Parse()
	if *in == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *out, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string, warn io.Writer) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	t, err := decode(zr)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	for _, w := range check(t) {
		fmt.Fprintln(warn, "gen: warning:", w)
	}
	b, err := encode(t)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// decode streams the catalogue, decoding one weakness or category at a
// time.
func decode(r io.Reader) (*table, error) {
	d := xml.NewDecoder(r)
	t := &table{Deprecated: []int{}, Categories: []category{}}
	var section string // the top-level list we are in
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch name := tok.Name.Local; {
			case name == "Weakness_Catalog":
				for _, a := range tok.Attr {
					switch a.Name.Local {
					case "Version":
						t.Version = a.Value
					case "Date":
						t.Date = a.Value
					}
				}
			case name == "Weaknesses" || name == "Categories" || name == "Views" || name == "External_References":
				section = name
			case section == "Weaknesses" && name == "Weakness":
				var x weaknessXML
				if err := d.DecodeElement(&x, &tok); err != nil {
					return nil, fmt.Errorf("weakness: %w", err)
				}
				if x.Status == "Deprecated" {
					t.Deprecated = append(t.Deprecated, x.ID)
					continue
				}
				t.Weaknesses = append(t.Weaknesses, fromXML(x))
			case section == "Categories" && name == "Category":
				var x categoryXML
				if err := d.DecodeElement(&x, &tok); err != nil {
					return nil, fmt.Errorf("category: %w", err)
				}
				if x.Status != "Deprecated" {
					t.Categories = append(t.Categories, category{x.ID, clean(x.Name)})
				}
			default:
				if section == "Views" || section == "External_References" {
					if err := d.Skip(); err != nil {
						return nil, err
					}
				}
			}
		case xml.EndElement:
			if tok.Name.Local == section {
				section = ""
			}
		}
	}
	if t.Version == "" {
		return nil, errors.New("no Weakness_Catalog Version: is this a CWE catalogue?")
	}
	if len(t.Weaknesses) == 0 {
		return nil, errors.New("no weaknesses")
	}
	slices.SortFunc(t.Weaknesses, func(a, b weakness) int { return a.ID - b.ID })
	slices.Sort(t.Deprecated)
	slices.SortFunc(t.Categories, func(a, b category) int { return a.ID - b.ID })
	return t, nil
}

// fromXML keeps the ChildOf parents in the research view, the primary one
// first, so that Parents[0] is the edge a roll-up follows.
func fromXML(x weaknessXML) weakness {
	w := weakness{ID: x.ID, Name: clean(x.Name), Abstraction: x.Abstraction, Status: x.Status}
	var primary, other []int
	for _, r := range x.Related {
		if r.Nature != "ChildOf" || r.ViewID != researchView {
			continue
		}
		if slices.Contains(primary, r.CWEID) || slices.Contains(other, r.CWEID) {
			continue
		}
		if r.Ordinal == "Primary" {
			primary = append(primary, r.CWEID)
		} else {
			other = append(other, r.CWEID)
		}
	}
	w.Parents = append(primary, other...)
	return w
}

// clean folds the runs of white space that some names carry.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// check returns warnings about what package cwe would trip over or what
// looks wrong in the catalogue. It also drops parents that are not current
// weaknesses, so that Ancestors never reaches an id that Lookup refuses.
func check(t *table) []string {
	var warns []string
	idx := make(map[int]int, len(t.Weaknesses))
	for i, w := range t.Weaknesses {
		if _, dup := idx[w.ID]; dup {
			warns = append(warns, fmt.Sprintf("CWE-%d appears twice", w.ID))
		}
		idx[w.ID] = i
	}
	for i := range t.Weaknesses {
		w := &t.Weaknesses[i]
		kept := w.Parents[:0]
		for _, p := range w.Parents {
			if _, ok := idx[p]; ok {
				kept = append(kept, p)
				continue
			}
			warns = append(warns, fmt.Sprintf("CWE-%d: parent CWE-%d is not a current weakness; dropped", w.ID, p))
		}
		w.Parents = kept
		if len(w.Parents) == 0 {
			w.Parents = nil
		}
		switch {
		case w.Abstraction == "Pillar" && len(w.Parents) > 0:
			warns = append(warns, fmt.Sprintf("CWE-%d: pillar with parents %v", w.ID, w.Parents))
		case w.Abstraction != "Pillar" && len(w.Parents) == 0:
			warns = append(warns, fmt.Sprintf("CWE-%d (%s): no parent in view %s", w.ID, w.Abstraction, researchView))
		}
	}
	// Follow Parents[0] from every weakness: the chain must end at a pillar.
	for _, w := range t.Weaknesses {
		seen := map[int]bool{w.ID: true}
		cur := w
		for len(cur.Parents) > 0 {
			p := cur.Parents[0]
			if seen[p] {
				warns = append(warns, fmt.Sprintf("CWE-%d: primary parents loop back to CWE-%d", w.ID, p))
				break
			}
			seen[p] = true
			cur = t.Weaknesses[idx[p]]
		}
		if cur.Abstraction != "Pillar" {
			warns = append(warns, fmt.Sprintf("CWE-%d: primary parents end at CWE-%d, a %s", w.ID, cur.ID, cur.Abstraction))
		}
	}
	return warns
}

// encode writes the table as gzip'd JSON with a zero gzip header time, so
// the same catalogue always gives the same bytes.
func encode(t *table) ([]byte, error) {
	js, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
