// Package jsontok holds the token-level helpers the strict JSON parsers of
// outside data share (payload manifests, the agent's detection rules):
// they walk a document with encoding/json's Decoder.Token to find what
// Unmarshal cannot report, such as duplicate keys, without recursion.
package jsontok

import "encoding/json"

// Skip reads and discards one whole value.
func Skip(d *json.Decoder) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	return SkipRest(d, t)
}

// SkipRest discards the rest of a value whose first token was t. It keeps
// a depth count rather than recursing, so deep nesting cannot exhaust the
// stack.
func SkipRest(d *json.Decoder, t json.Token) error {
	depth := 0
	for {
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth <= 0 {
			return nil
		}
		var err error
		if t, err = d.Token(); err != nil {
			return err
		}
	}
}
