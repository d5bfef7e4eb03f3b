package sim

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const goodTrace = `[
  {"id": "KB1", "released": "2026-01-13T17:00:00Z", "install_seconds": 300, "stops_service": true,
   "restart": "reboot", "fail_prob": 0.005, "rollback_seconds": 300, "critical": false},
  {"id": "KB2", "released": "2026-01-20T09:30:00+01:00", "install_seconds": 61.5, "restart": "none", "critical": true}
]`

func TestReadTrace(t *testing.T) {
	got, err := ReadTrace(strings.NewReader(goodTrace))
	if err != nil {
		t.Fatal(err)
	}
	want := []Patch{
		{ID: "KB1", Released: pt, Install: 5 * time.Minute, StopsService: true, Restart: RestartReboot, FailProb: 0.005, Rollback: 5 * time.Minute},
		{ID: "KB2", Released: time.Date(2026, 1, 20, 8, 30, 0, 0, time.UTC), Install: 61500 * time.Millisecond, Restart: RestartNone, Critical: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if got, err := ReadTrace(strings.NewReader(" [ ] ")); err != nil || len(got) != 0 {
		t.Errorf("an empty array: %v, %v", got, err)
	}
}

func TestReadTraceRefuses(t *testing.T) {
	const ok = `"id": "a", "released": "2026-01-13T17:00:00Z", "restart": "none"`
	tests := []struct {
		name, in string
		want     []string // every one in the error
	}{
		{"empty", ``, []string{"not a JSON array"}},
		{"object", `{"id": "a"}`, []string{"want a JSON array of patches, got an object"}},
		{"syntax", `[{"id": "a",]`, []string{"not a JSON array", "at byte"}},
		{"unterminated", `[{` + ok + `}`, []string{"not a JSON array"}},
		{"trailing", `[{` + ok + `}] []`, []string{"data after the array"}},
		{"not an object", `[1, "x", {` + ok + `}]`, []string{"patch 0: want an object, got a number", "patch 1: want an object, got a string"}},
		{"unknown field", `[{` + ok + `, "Reboot": true}]`, []string{`patch 0 ("a"): unknown field "Reboot"`}},
		{"case matters", `[{"ID": "a", "released": "2026-01-13T17:00:00Z", "restart": "none"}]`, []string{`unknown field "ID"`, "id: missing"}},
		{"missing", `[{}]`, []string{"patch 0: id: missing", "released: missing", "restart: missing"}},
		{"repeated field", `[{` + ok + `, "id": "b"}]`, []string{"id: given twice"}},
		{"repeated id", `[{` + ok + `}, {` + ok + `}]`, []string{`patch 1 ("a"): id: repeats patch 0`}},
		{"types", `[{"id": 5, "released": 0, "install_seconds": "300", "stops_service": "yes", "restart": null, "fail_prob": true, "rollback_seconds": [], "critical": 1}]`,
			[]string{`id: want a string, got "5"`, "released: want a string", `install_seconds: want a number of seconds, got "\"300\""`,
				"stops_service: want true or false", "restart: want a string, got \"null\"", "fail_prob: want a number", "rollback_seconds: want a number", "critical: want true or false"}},
		{"ranges", `[{` + ok + `, "install_seconds": -1, "rollback_seconds": 1e9, "fail_prob": 1.5}]`,
			[]string{"install_seconds: -1 out of range", "rollback_seconds: 1e+09 out of range", "fail_prob: 1.5 out of range"}},
		{"bad values", `[{"id": "", "released": "13/01/2026", "restart": "sometimes"}]`,
			[]string{"id: empty", `released: "13/01/2026" is not an RFC 3339 time`, `restart: "sometimes", want none, service or reboot`}},
		{"every patch named", `[{` + ok + `, "x": 1}, {"id": "b", "released": "2026-01-13T17:00:00Z", "restart": "no"}]`,
			[]string{`patch 0 ("a"): unknown field "x"`, `patch 1 ("b"): restart`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadTrace(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error; read %+v", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestReadTraceLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range 60 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"bad": 1}`)
	}
	b.WriteString("]")
	_, err := ReadTrace(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more problems") {
		t.Errorf("60 bad patches: %v, want the list cut with a count", err)
	}
	big := strings.NewReader("[" + strings.Repeat(" ", maxTraceBytes) + "]")
	if _, err := ReadTrace(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a huge trace: %v", err)
	}
}

func TestTraceRoundTrip(t *testing.T) {
	trace := Generate(9, 2, 10, jan1)
	var buf bytes.Buffer
	if err := WriteTrace(&buf, trace); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTrace(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(trace, back); d != "" {
		t.Errorf("(-written +read)\n%s", d)
	}
}

// FuzzReadTrace: the parser never panics, and what it accepts it writes
// back and reads again to the same patches.
func FuzzReadTrace(f *testing.F) {
	f.Add([]byte(goodTrace))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id": "a", "released": "2026-01-13T17:00:00.5-07:00", "restart": "service", "install_seconds": 1e-9}]`))
	f.Add([]byte(`[{"id": "a", "id": "b"}, 3, [], null]`))
	f.Add([]byte(`[{"id": "\u00e9", "released": "2026-01-13T17:00:00Z", "restart": "none", "fail_prob": 0}] x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadTrace(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" {
				t.Error("an empty error")
			}
			return
		}
		for i := range got {
			if e := checkPatch(&got[i]); e != nil {
				t.Fatalf("accepted patch %d with problems %v", i, e)
			}
		}
		var buf bytes.Buffer
		if err := WriteTrace(&buf, got); err != nil {
			t.Fatal(err)
		}
		back, err := ReadTrace(&buf)
		if err != nil {
			t.Fatalf("cannot read back what was written: %v\n%s", err, buf.String())
		}
		if d := cmp.Diff(got, back); d != "" {
			t.Errorf("(-read +read back)\n%s", d)
		}
	})
}
