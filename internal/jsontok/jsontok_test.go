package jsontok

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSkip(t *testing.T) {
	for _, tt := range []struct {
		in, next string // next: the token after the skipped value
		bad      bool
	}{
		{in: `1 "x"`, next: "x"},
		{in: `{"a": [1, {"b": null}], "c": {}} "x"`, next: "x"},
		{in: `[[[[]]]] "x"`, next: "x"},
		{in: `"s" "x"`, next: "x"},
		{in: strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + ` "x"`, next: "x"},
		{in: `{"a": [1, 2`, bad: true},
		{in: `]`, bad: true},
		{in: ``, bad: true},
	} {
		d := json.NewDecoder(strings.NewReader(tt.in))
		err := Skip(d)
		if tt.bad {
			if err == nil {
				t.Errorf("Skip(%.40q) = nil, want an error", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("Skip(%.40q): %v", tt.in, err)
			continue
		}
		if tok, err := d.Token(); err != nil || tok != tt.next {
			t.Errorf("after Skip(%.40q): %v %v, want %q", tt.in, tok, err, tt.next)
		}
	}
}
