package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/patchday/patchday/internal/agentapi"
)

// TestDecodeAgent: what the check-in decoder takes and refuses.
func TestDecodeAgent(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body, want string
	}{
		{"check-in", "application/json", `{"os":"linux","arch":"amd64","inventory":[{"product":"nginx","version":"1.22"}],"lease":true}`, ""},
		{"unknown field ignored", "application/json", `{"os":"linux","future":{"x":[1,2]}}`, ""},
		{"charset parameter", "application/json; charset=utf-8", `{"os":"linux"}`, ""},
		{"not JSON content type", "text/plain", `{"os":"linux"}`, "Content-Type: application/json"},
		{"trailing object", "application/json", `{"os":"linux"}{"os":"x"}`, "exactly one object"},
		{"repeated field", "application/json", `{"os":"linux","os":"windows"}`, "could not be read"},
		{"wrong type", "application/json", `{"inventory":"nginx"}`, "could not be read"},
		{"invalid UTF-8", "application/json", "{\"os\":\"\xff\"}", "could not be read"},
		{"truncated", "application/json", `{"os":"lin`, "could not be read"},
		{"empty", "application/json", ``, "could not be read"},
		{"too big", "application/json", `{"os":"` + strings.Repeat("a", maxCheckin) + `"}`, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, agentapi.CheckinPath, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ctype)
			var req agentapi.CheckinRequest
			err := decodeAgent(httptest.NewRecorder(), r, &req)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && req.OS != "linux":
				t.Fatalf("decoded %+v", req)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeAgent: no body makes the decoder panic, and a second decode
// of the same body gives the same answer (the pooled buffer is not
// shared between requests).
func FuzzDecodeAgent(f *testing.F) {
	f.Add(`{"os":"linux","arch":"amd64","inventory":[{"product":"nginx","version":"1.22"}],"reports":[{"update":1,"state":"installed","at":"2026-01-01T00:00:00Z"}]}`)
	f.Add(`{"os":"linux"}{}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		decode := func() (agentapi.CheckinRequest, error) {
			r := httptest.NewRequest(http.MethodPost, agentapi.CheckinPath, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			var req agentapi.CheckinRequest
			err := decodeAgent(httptest.NewRecorder(), r, &req)
			return req, err
		}
		a, errA := decode()
		b, errB := decode()
		if (errA == nil) != (errB == nil) || (errA == nil && (a.OS != b.OS || len(a.Inventory) != len(b.Inventory))) {
			t.Fatalf("two decodes differ: %+v %v / %+v %v", a, errA, b, errB)
		}
	})
}

// BenchmarkDecodeAgent: a 12-item check-in through decodeAgent, beside
// encoding/json's Decoder as decodeBody uses it (the figure quoted in
// decodeAgent's comment and docs/benchmarks.md).
func BenchmarkDecodeAgent(b *testing.B) {
	req := agentapi.CheckinRequest{OS: "linux", Arch: "amd64"}
	for i := range 12 {
		req.Inventory = append(req.Inventory, agentapi.Item{Product: fmt.Sprintf("package-%d", i), Version: "3.0.15-1~deb12u1"})
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decodeAgent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, agentapi.CheckinPath, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			var got agentapi.CheckinRequest
			if err := decodeAgent(nil, r, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, agentapi.CheckinPath, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			var got agentapi.CheckinRequest
			if err := decodeBody(nil, r, &got, maxCheckin, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A reused check-in request comes back with nothing of the last one.
func TestPutCheckinRequest(t *testing.T) {
	req := checkinRequests.Get().(*agentapi.CheckinRequest)
	body := `{"os":"linux","arch":"amd64","lease":true,"inventory":[{"product":"nginx","version":"1"},{"product":"libssl3","version":"3"}],` +
		`"reports":[{"update":7,"state":"installed","at":"2026-12-01T00:00:00Z"}]}`
	if err := jsonv2.Unmarshal([]byte(body), req); err != nil {
		t.Fatal(err)
	}
	inv := req.Inventory[:cap(req.Inventory)]
	putCheckinRequest(req)
	if req.OS != "" || req.Arch != "" || req.Lease || req.Reports != nil || len(req.Inventory) != 0 || cap(req.Inventory) != len(inv) {
		t.Fatalf("not reset: %+v", req)
	}
	for i, it := range inv {
		if it != (agentapi.Item{}) {
			t.Fatalf("inventory[%d] still holds %+v", i, it)
		}
	}
	if err := jsonv2.Unmarshal([]byte(`{"inventory":[{"product":"nginx"}]}`), req); err != nil {
		t.Fatal(err)
	}
	if len(req.Inventory) != 1 || req.Inventory[0].Version != "" {
		t.Fatalf("decoded into a reused request: %+v", req.Inventory)
	}
}
