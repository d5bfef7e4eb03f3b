package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runSim runs patchday with args and returns stdout and stderr apart.
func runSim(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// small is a fleet small enough for tests to be quick.
var small = []string{"sim", "downtime", "--machines", "100", "--groups", "5", "--months", "2"}

func TestSimDowntimeJSON(t *testing.T) {
	out, stderr, err := runSim(t, nil, append(small, "--format", "json")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep simReport
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("the output is not the report: %v\n%s", err, out)
	}
	if len(rep.Results) != 5 || rep.Results[0].Strategy != "S0" || rep.Results[4].Strategy != "S4" {
		t.Fatalf("results: %+v", rep.Results)
	}
	if rep.Scenario.Machines != 100 || rep.Scenario.Groups != 5 || rep.Scenario.Patches != 24 || rep.Scenario.Window != "daily 02:00–05:00" {
		t.Errorf("scenario: %+v", rep.Scenario)
	}
	if rep.S4VsS0 == nil || rep.S4VsS0.OutageCutPercent < 80 || rep.S4VsS0.CapacityCutPercent <= 0 {
		t.Errorf("S4 vs S0: %+v", rep.S4VsS0)
	}
	if rep.LowerBound.CapacityMinutesLost <= 0 || rep.LowerBound.Cycles == 0 {
		t.Errorf("lower bound: %+v", rep.LowerBound)
	}
	for _, r := range rep.Results {
		if r.Unfinished != 0 || r.Exposure.N == 0 || r.Description == "" {
			t.Errorf("%s: %+v", r.Strategy, r)
		}
	}
	if !strings.Contains(stderr, "100%") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	// The same flags give the same figures.
	again, _, err := runSim(t, nil, append(small, "--format", "json")...)
	if err != nil || again != out {
		t.Errorf("a second run differs (%v)", err)
	}
}

func TestSimDowntimeText(t *testing.T) {
	out, _, err := runSim(t, nil, append(small, "--window", "sat 22:00-04:00", "--max-unavailable", "2")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"strategy", "outage min", "capacity-min lost", "interruptions/machine", "windows used",
		"critical exposure h mean/p95/max", "cycle h", "failures", "bound", "S4 vs S0: downtime −", "by capacity-minutes lost",
		"by outage minutes", "window Sat 22:00–04:00 UTC, max unavailable 2", "S0     per patch as it arrives"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	for _, s := range []string{"S0", "S1", "S2", "S3", "S4"} {
		if !strings.Contains(out, "\n"+strings.Repeat(" ", 8)+s+"  ") {
			t.Errorf("no row for %s:\n%s", s, out)
		}
	}
	// Without S0 there is nothing to compare with.
	out, _, err = runSim(t, nil, append(small, "--strategies", "s3,S4,s3")...)
	if err != nil || strings.Contains(out, "S4 vs S0") || strings.Contains(out, "        S0  ") || strings.Count(out, "        S3  ") != 1 {
		t.Errorf("--strategies s3,S4,s3: %v\n%s", err, out)
	}
}

func TestSimDowntimeUsage(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--format", "xml"}, nil, `--format "xml"`},
		{[]string{"--strategies", "S0,S9"}, nil, `unknown strategy "S9"`},
		{[]string{"--window", "25:00-03:00"}, nil, `--window "25:00-03:00"`},
		{[]string{"--window", "02:00-02:00"}, nil, "the window is empty"},
		{[]string{"--window", "someday 02:00-05:00"}, nil, "not a weekday"},
		{[]string{"--spare", "20"}, nil, "--spare 20: want 0 to 19"},
		{[]string{"--machines", "0"}, nil, "--machines 0"},
		{[]string{"--groups", "2000"}, nil, "--groups 2000"},
		{[]string{"--months", "0", "--patches-per-month", "0"}, nil, "--months 0"},
		{[]string{"--canary", "0"}, nil, "--canary 0"},
		{[]string{"--boot", "-1m"}, nil, "--boot -1m0s"},
		{[]string{"--start", "January"}, nil, `--start "January"`},
		{[]string{"--max-unavailable", "x"}, nil, "invalid argument"},
		{[]string{"extra"}, nil, "unknown command"},
		{nil, map[string]string{"PATCHDAY_MACHINES": "many"}, "PATCHDAY_MACHINES"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := runSim(t, tt.env, append([]string{"sim", "downtime"}, tt.args...)...)
			if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (exit %d), want a usage error containing %q", err, ExitCode(err), tt.want)
			}
		})
	}
	// Several problems are named at once.
	_, _, err := runSim(t, nil, "sim", "downtime", "--format", "xml", "--machines", "0")
	if err == nil || !strings.Contains(err.Error(), "--format") || !strings.Contains(err.Error(), "--machines") {
		t.Errorf("two bad flags: %v", err)
	}
}

func TestSimDowntimeTraceFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`[
  {"id": "KB1", "released": "2026-03-10T17:00:00Z", "install_seconds": 300, "restart": "reboot"},
  {"id": "KB2", "released": "2026-03-11T08:00:00Z", "install_seconds": 120, "restart": "service", "stops_service": true, "critical": true},
  {"id": "KB3", "released": "2027-01-01T00:00:00Z", "install_seconds": 60, "restart": "none"}
]`), 0o600)
	out, stderr, err := runSim(t, nil, "sim", "downtime", "--machines", "40", "--groups", "4", "--months", "1", "--trace", good, "--format", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep simReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// The horizon starts on the first of the month of the first patch;
	// KB3 falls outside it.
	if rep.Scenario.Start != "2026-03-01" || rep.Scenario.Patches != 2 || rep.Scenario.CriticalPatches != 1 || rep.Scenario.IgnoredOutOfRange != 1 {
		t.Errorf("scenario: %+v", rep.Scenario)
	}
	if !strings.Contains(stderr, "1 patches released outside 2026-03-01 to 2026-04-01 ignored") {
		t.Errorf("stderr: %q", stderr)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"id": "KB1", "released": "yesterday", "restart": "reboot", "reboots": 2}]`), 0o600)
	_, _, err = runSim(t, nil, "sim", "downtime", "--trace", bad)
	if err == nil || ExitCode(err) != 1 {
		t.Fatalf("a bad trace: %v", err)
	}
	for _, want := range []string{bad, `patch 0 ("KB1"): released: "yesterday" is not an RFC 3339 time`, `unknown field "reboots"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, _, err = runSim(t, nil, "sim", "downtime", "--trace", filepath.Join(dir, "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "missing.json") || ExitCode(err) != 1 {
		t.Errorf("a missing trace: %v", err)
	}
	_, _, err = runSim(t, nil, "sim", "downtime", "--trace", good, "--start", "2030-01-01")
	if err == nil || !strings.Contains(err.Error(), "no patch released between 2030-01-01 and 2030-07-01") {
		t.Errorf("a horizon without patches: %v", err)
	}
}

func TestSimHelp(t *testing.T) {
	for _, args := range [][]string{{"sim", "--help"}, {"sim", "downtime", "--help"}} {
		out, _, err := runSim(t, nil, args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "--") && !strings.HasPrefix(line, "--help") && !strings.Contains(line, "PATCHDAY_") {
				t.Errorf("flag without its environment variable: %s", line)
			}
		}
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]string{
		"02:00-05:00":        "daily 02:00–05:00",
		"daily 0:30-1:00":    "daily 00:30–01:00",
		"Sat 22:00-04:00":    "Sat 22:00–04:00",
		"sunday 00:00-24:00": "Sun 00:00–00:00",
	} {
		w, err := parseWindow(in)
		if err != nil || w.String() != want {
			t.Errorf("parseWindow(%q) = %v, %v; want %s", in, w, err, want)
		}
	}
	for _, in := range []string{"", "02:00", "2-5", "02:60-03:00", "24:00-01:00", "mon tue 02:00-03:00", "02:00-24:30"} {
		if _, err := parseWindow(in); err == nil {
			t.Errorf("parseWindow(%q): no error", in)
		}
	}
}

// TestSimDowntimeDebian runs the simulator on the real updates in the
// shared corpus's changelogs.
func TestSimDowntimeDebian(t *testing.T) {
	const dir = "../../../shared/testdata/releases"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no corpus: %v", err)
	}
	args := []string{"sim", "downtime", "--trace", "debian:" + dir, "--start", "2025-01-01", "--months", "23",
		"--machines", "40", "--groups", "2", "--restart", "libssl3=reboot,nginx=service", "--format", "json"}
	out, stderr, err := runSim(t, nil, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep simReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// libcurl4 7, libssl3 12, nginx 11, libxml2 5 (read off the changelogs).
	if rep.Scenario.Patches != 35 || rep.Scenario.CriticalPatches != 7 {
		t.Errorf("scenario: %d patches, %d critical; want 35, 7", rep.Scenario.Patches, rep.Scenario.CriticalPatches)
	}
	for _, r := range rep.Results {
		if r.Unfinished != 0 || r.Exposure.N == 0 {
			t.Errorf("%s: %+v", r.Strategy, r)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trace", "debian:" + dir}, "give --start and --months"},
		{[]string{"--trace", "debian:" + dir, "--start", "2025-01-01", "--restart", "libssl3"}, "want product=none|service|reboot"},
		{[]string{"--trace", "debian:" + dir, "--start", "2025-01-01", "--restart", "libssl3=sometimes"}, "libssl3"},
		{[]string{"--trace", "debian:" + dir, "--start", "2025-01-01", "--restart", "nosuch=reboot"}, "nosuch"},
		{[]string{"--trace", "debian:" + t.TempDir(), "--start", "2025-01-01"}, "debian"},
		{[]string{"--trace", "debian:" + dir, "--start", "2030-01-01"}, "no update released"},
	} {
		_, _, err := runSim(t, nil, append([]string{"sim", "downtime", "--machines", "10", "--groups", "1"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %q", tc.args, err, tc.want)
		}
	}
}
