package advisory

import "testing"

func TestCheck(t *testing.T) {
	if err := rich(t).Check(); err != nil {
		t.Errorf("rich: %v", err)
	}
	if err := minimal(t).Check(); err != nil {
		t.Errorf("minimal: %v", err)
	}
	var a Advisory
	f := fields(t, a.Check())
	for _, field := range []string{"id", "title", "summary", "products", "revisions"} {
		if f[field] == "" {
			t.Errorf("an empty advisory: no problem with %s in %v", field, f)
		}
	}
}
