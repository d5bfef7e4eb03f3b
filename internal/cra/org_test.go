package cra

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseMarkets(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "Gateway=DE,FR,nl", want: "map[Gateway:[DE FR NL]]"},
		{in: " Gateway = fr, de ,DE ; Widget Agent=all", want: "map[Gateway:[DE FR] Widget Agent:[" + strings.Join(MemberStates, " ") + "]]"},
		{in: "", want: "map[]"},
		{in: "Gateway", err: "write PRODUCT=DE,FR"},
		{in: "=DE", err: "write PRODUCT=DE,FR"},
		{in: "Gateway=UK", err: `"UK" is not an EU Member State`},
		{in: "Gateway=EL", err: "Greece is GR"},
		{in: "Gateway=", err: "at least one Member State"},
		{in: "Gateway=DE;Gateway=FR", err: "given twice"},
	} {
		got, err := ParseMarkets(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseMarkets(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("ParseMarkets(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseMarkets(f *testing.F) {
	for _, s := range []string{"Gateway=DE,FR", "a=all;b=nl", "x", "=;=", "Gateway=DE;Gateway=FR"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarkets(s)
		if err != nil {
			return
		}
		for name, states := range m {
			if name == "" || len(states) == 0 {
				t.Errorf("ParseMarkets(%q) gave %q: %v", s, name, states)
			}
			for _, c := range states {
				if CheckMemberState(c) != nil {
					t.Errorf("ParseMarkets(%q) let %q through", s, c)
				}
			}
		}
	})
}
