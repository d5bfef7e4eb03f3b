package cases_test

import (
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/cases"
)

func TestSuggestDuplicates(t *testing.T) {
	target := cases.Doc{Ref: "PD-2026-0009", Product: "Portal", CWE: 89,
		Text: "SQL injection in the search box: the q parameter reaches the database unescaped"}
	others := []cases.Doc{
		{Ref: "PD-2026-0001", Product: "portal ", CWE: 89, State: cases.Triage,
			Text: "SQL injection via search parameter q, unescaped in the database query"},
		{Ref: "PD-2026-0002", Product: "Portal", CWE: 79, State: cases.Fixing, Text: "Stored XSS in the profile page"},
		{Ref: "PD-2026-0003", Product: "Gateway", CWE: 89, State: cases.Triage,
			Text: "SQL injection in the search box: the q parameter reaches the database unescaped"},
		{Ref: "PD-2026-0004", Product: "Portal", CWE: 89, State: cases.Invalid, Text: "SQL injection in search"},
		{Ref: "PD-2026-0005", Product: "Portal", CWE: 89, State: cases.Received, Text: "Error-based SQLi in reports export"},
		{Ref: "PD-2026-0009", Product: "Portal", CWE: 89, Text: target.Text},
	}
	got := cases.SuggestDuplicates(target, others, 5)
	var refs []string
	for _, s := range got {
		refs = append(refs, s.Ref)
	}
	if strings.Join(refs, ",") != "PD-2026-0001,PD-2026-0005" {
		t.Fatalf("suggestions %v; want 0001 (same product, similar text, same CWE) then 0005 (same product and CWE)", refs)
	}
	if !strings.Contains(got[0].Why, "same product") || !strings.Contains(got[0].Why, "% of words shared") || !strings.Contains(got[0].Why, "CWE-89") {
		t.Errorf("why: %q", got[0].Why)
	}
	if got := cases.SuggestDuplicates(target, others, 1); len(got) != 1 {
		t.Errorf("max 1: %d", len(got))
	}
	if got := cases.SuggestDuplicates(cases.Doc{Ref: "x", Text: "anything"}, others, 5); len(got) != 0 {
		t.Errorf("a case without a product matched %v", got)
	}
}
