package agent

import (
	"encoding/json"
	"reflect"
	"testing"
)

func FuzzParseRules(f *testing.F) {
	for _, seed := range []string{
		`{"rules": []}`,
		`{"rules": [{"product": "app", "path": "opt/app/VERSION", "regexp": "version=(\\S+)"}]}`,
		`{"rules": [{"product": "nginx", "path": "usr/share/doc/nginx/changelog.Debian.gz", "gzip": true, "regexp": "^nginx \\(([^)]+)\\)"}]}`,
		`{"rules": [{"product": "app", "path": "opt/app-*/[a-z]?.txt", "gzip": false, "regexp": "(?m)^v(\\d+)$"},
			{"product": "Kärcher ✓", "path": "a\\*b", "regexp": "(\u2028)"}]}`,
		``,
		`null`,
		`[]`,
		`{}`,
		`{"rules": null}`,
		`{"rules": {}}`,
		`{"rules": [null, 1, "x", [], {}]}`,
		`{"rules": [], "rules": []}`,
		`{"rules": []} {}`,
		`{"Rules": [{"Product": "a", "PATH": "b", "regexp": "(c)"}]}`,
		`{"rules": [{"product": "a", "path": "b", "regexp": "(c)", "product": "a"}]}`,
		`{"rules": [{"product": " a", "path": "/b", "regexp": "c"}]}`,
		`{"rules": [{"product": "a\u0000", "path": "../b", "regexp": "(c"}]}`,
		`{"rules": [{"product": "a", "path": "b[", "regexp": "(?=c)", "gzip": "true"}]}`,
		`{"rules": [{"product": "\ud800", "path": "b/./c", "regexp": "(c)", "x": 1e999}]}`,
		"{\"rules\": [{\"product\": \"\xff\", \"path\": \"b\", \"regexp\": \"(\xfe)\"}]}",
		`{"rules": [[[[[[[[[[[[]]]]]]]]]]]]}`,
		`{"rules": [`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rules, err := ParseRules(b)
		if err != nil {
			if rules != nil {
				t.Fatalf("rules %+v with error %v", rules, err)
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		for i, r := range rules {
			if r.Product == "" || r.Path == "" || r.Regexp == "" || r.re == nil {
				t.Fatalf("rules[%d] = %+v is not complete", i, r)
			}
		}
		out, err := json.Marshal(struct {
			Rules []Rule `json:"rules"`
		}{rules})
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := ParseRules(out)
		if err != nil {
			t.Fatalf("parse %s again: %v", out, err)
		}
		if !reflect.DeepEqual(fieldsOf(again), fieldsOf(rules)) {
			t.Fatalf("round trip changed the rules:\n%+v\n%+v", fieldsOf(rules), fieldsOf(again))
		}
	})
}
