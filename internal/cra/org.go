package cra

import (
	"fmt"
	"slices"
	"strings"
)

// MemberStates are the EU's 27, by ISO 3166-1 alpha-2 code (Greece is
// GR, as ISO writes it, not EL).
var MemberStates = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
	"LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}

// CheckMemberState returns why code is not an EU Member State, or nil.
func CheckMemberState(code string) error {
	if !slices.Contains(MemberStates, code) {
		return fmt.Errorf("%q is not an EU Member State code (AT, BE, … SK; Greece is GR)", code)
	}
	return nil
}

// ParseMarkets reads where each product is made available:
// "Gateway=DE,FR,NL;Widget Agent=all" ("all": every Member State).
func ParseMarkets(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, codes, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: write PRODUCT=DE,FR (products separated by ;)", strings.TrimSpace(part))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("product %q is given twice", name)
		}
		var states []string
		for _, c := range strings.Split(codes, ",") {
			c = strings.ToUpper(strings.TrimSpace(c))
			switch {
			case c == "":
				continue
			case c == "ALL":
				states = append(states, MemberStates...)
			case CheckMemberState(c) != nil:
				return nil, fmt.Errorf("product %q: %w", name, CheckMemberState(c))
			default:
				states = append(states, c)
			}
		}
		if len(states) == 0 {
			return nil, fmt.Errorf("product %q: name at least one Member State, or all", name)
		}
		slices.Sort(states)
		out[name] = slices.Compact(states)
	}
	return out, nil
}
