package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Generate makes a trace: for each of months months from start, perMonth
// patches, half of them (critical or not) released on the month's patch
// Tuesday, the vendor's release train, and the rest — one-off fixes and
// emergencies — spread uniformly over the month. About 30% need a reboot, 30% a
// service restart, 40% nothing; 15% stop the service while they install;
// 10% are critical; installs take 1–10 minutes, fail with probability
// 0.005 and take 5 minutes to roll back. The same arguments give the same
// trace.
func Generate(seed int64, months, perMonth int, start time.Time) []Patch {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9a7c4da7))
	start = start.UTC()
	var out []Patch
	for i := range max(months, 0) {
		from, to := start.AddDate(0, i, 0), start.AddDate(0, i+1, 0)
		pt := nextPatchTuesday(from)
		for range max(perMonth, 0) {
			p := Patch{FailProb: 0.005, Rollback: 5 * time.Minute}
			p.Critical = r.Float64() < 0.10
			if pt.Before(to) && r.Float64() < 0.5 {
				p.Released = pt
			} else {
				p.Released = from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))).Truncate(time.Minute)
			}
			switch u := r.Float64(); {
			case u < 0.3:
				p.Restart = RestartReboot
			case u < 0.6:
				p.Restart = RestartService
			default:
				p.Restart = RestartNone
			}
			p.StopsService = r.Float64() < 0.15
			p.Install = time.Duration(60+r.IntN(541)) * time.Second
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Patch) int { return a.Released.Compare(b.Released) })
	for i := range out {
		out[i].ID = fmt.Sprintf("P-%04d", i+1)
	}
	return out
}

// Limits of a trace read from outside.
const (
	maxTraceBytes   = 32 << 20
	maxTracePatches = 100_000
	maxProblems     = 50
)

// jsonPatch is a trace entry as written by WriteTrace.
type jsonPatch struct {
	ID              string  `json:"id"`
	Released        string  `json:"released"`
	InstallSeconds  float64 `json:"install_seconds"`
	StopsService    bool    `json:"stops_service"`
	Restart         string  `json:"restart"`
	FailProb        float64 `json:"fail_prob"`
	RollbackSeconds float64 `json:"rollback_seconds"`
	Critical        bool    `json:"critical"`
}

// WriteTrace writes patches as the JSON ReadTrace reads.
func WriteTrace(w io.Writer, patches []Patch) error {
	out := make([]jsonPatch, len(patches))
	for i, p := range patches {
		out[i] = jsonPatch{ID: p.ID, Released: p.Released.UTC().Format(time.RFC3339Nano),
			InstallSeconds: p.Install.Seconds(), StopsService: p.StopsService, Restart: p.Restart,
			FailProb: p.FailProb, RollbackSeconds: p.Rollback.Seconds(), Critical: p.Critical}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ReadTrace reads a JSON trace: an array of objects with the fields id
// (required, unique), released (required, RFC 3339), install_seconds,
// stops_service, restart (required: none, service or reboot), fail_prob
// (0 to 1), rollback_seconds and critical. Unknown or repeated fields, a
// wrong type or an out-of-range value are refused; the error names every
// problem found (up to 50), by patch index and field.
func ReadTrace(r io.Reader) ([]Patch, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTraceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if len(data) > maxTraceBytes {
		return nil, fmt.Errorf("trace: larger than %d MiB", maxTraceBytes>>20)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	syntax := func(err error) error {
		return fmt.Errorf("trace: not a JSON array of patches (at byte %d): %w", dec.InputOffset(), err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("trace: want a JSON array of patches, got %s", describe(tok))
	}
	var (
		out      []Patch
		problems []string
		ids      = map[string]int{}
	)
	for dec.More() {
		i := len(out)
		if i >= maxTracePatches {
			return nil, fmt.Errorf("trace: more than %d patches", maxTracePatches)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntax(err)
		}
		fields, err := readObject(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("patch %d: %v", i, err))
			out = append(out, Patch{})
			continue
		}
		p, probs := parsePatch(fields)
		name := fmt.Sprintf("patch %d", i)
		if p.ID != "" {
			name = fmt.Sprintf("patch %d (%q)", i, p.ID)
			if j, dup := ids[p.ID]; dup {
				probs = append(probs, fmt.Sprintf("id: repeats patch %d", j))
			} else {
				ids[p.ID] = i
			}
		}
		for _, pr := range probs {
			problems = append(problems, name+": "+pr)
		}
		out = append(out, p)
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trace: data after the array (at byte %d)", dec.InputOffset())
	}
	if len(problems) > 0 {
		if n := len(problems); n > maxProblems {
			problems = append(problems[:maxProblems], fmt.Sprintf("and %d more problems", n-maxProblems))
		}
		return nil, errors.New("trace: " + strings.Join(problems, "\n"))
	}
	return out, nil
}

type field struct {
	name  string
	value json.RawMessage
}

// readObject reads one object's fields in order, repeats included.
func readObject(raw json.RawMessage) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want an object, got %s", describe(tok))
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, field{name, v})
	}
	return fields, nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// parsePatch turns one object's fields into a patch, naming each problem.
func parsePatch(fields []field) (Patch, []string) {
	var p Patch
	var probs []string
	bad := func(name, format string, a ...any) { probs = append(probs, name+": "+fmt.Sprintf(format, a...)) }
	seen := map[string]bool{}
	str := func(f field) (string, bool) {
		var s string
		if err := json.Unmarshal(f.value, &s); err != nil || !bytes.HasPrefix(bytes.TrimSpace(f.value), []byte(`"`)) {
			bad(f.name, "want a string, got %s", short(f.value))
			return "", false
		}
		return s, true
	}
	boolean := func(f field) bool {
		switch string(bytes.TrimSpace(f.value)) {
		case "true":
			return true
		case "false":
			return false
		}
		bad(f.name, "want true or false, got %s", short(f.value))
		return false
	}
	number := func(f field, lo, hi float64, unit string) (float64, bool) {
		v := bytes.TrimSpace(f.value)
		var x float64
		if len(v) == 0 || !(v[0] == '-' || v[0] >= '0' && v[0] <= '9') || json.Unmarshal(v, &x) != nil {
			bad(f.name, "want a number%s, got %s", unit, short(f.value))
			return 0, false
		}
		if !(x >= lo && x <= hi) {
			bad(f.name, "%v out of range, want %v to %v%s", x, lo, hi, unit)
			return 0, false
		}
		return x, true
	}
	seconds := func(f field) time.Duration {
		x, ok := number(f, 0, maxStep.Seconds(), " of seconds")
		if !ok {
			return 0
		}
		return time.Duration(math.Round(x * 1e9))
	}
	for _, f := range fields {
		if seen[f.name] {
			bad(f.name, "given twice")
			continue
		}
		seen[f.name] = true
		switch f.name {
		case "id":
			if s, ok := str(f); ok {
				switch {
				case s == "":
					bad("id", "empty")
				case len(s) > 200:
					bad("id", "longer than 200 bytes")
				default:
					p.ID = s
				}
			}
		case "released":
			if s, ok := str(f); ok {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					bad("released", "%s is not an RFC 3339 time such as 2026-01-13T17:00:00Z", short([]byte(s)))
				} else {
					p.Released = t.UTC()
				}
			}
		case "install_seconds":
			p.Install = seconds(f)
		case "rollback_seconds":
			p.Rollback = seconds(f)
		case "stops_service":
			p.StopsService = boolean(f)
		case "critical":
			p.Critical = boolean(f)
		case "restart":
			if s, ok := str(f); ok {
				switch s {
				case RestartNone, RestartService, RestartReboot:
					p.Restart = s
				default:
					bad("restart", "%s, want none, service or reboot", short([]byte(s)))
				}
			}
		case "fail_prob":
			p.FailProb, _ = number(f, 0, 1, "")
		default:
			probs = append(probs, fmt.Sprintf("unknown field %s", short([]byte(f.name))))
		}
	}
	for _, req := range []string{"id", "released", "restart"} {
		if !seen[req] {
			bad(req, "missing")
		}
	}
	return p, probs
}

// short quotes a value for an error, cut to a readable length.
func short(v []byte) string {
	s := strings.TrimSpace(string(v))
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}
