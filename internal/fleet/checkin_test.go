package fleet

import (
	"errors"
	jsonv2 "github.com/go-json-experiment/json"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/agentapi"
)

func testView() *view {
	u := Update{ID: 7, Product: "nginx", Version: "2", AppliesTo: []string{"1"}}
	return &view{updates: []Update{u}, byID: map[int64]*Update{7: &u}}
}

func TestCheckCheckin(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		req   agentapi.CheckinRequest
		field string // "" = accepted
	}{
		{"plain", agentapi.CheckinRequest{OS: "linux", Arch: "amd64", Inventory: []agentapi.Item{{Product: "nginx", Version: "1"}}}, ""},
		{"empty inventory", agentapi.CheckinRequest{OS: "linux", Arch: "amd64"}, ""},
		{"report", agentapi.CheckinRequest{Reports: []agentapi.Report{{Update: 7, State: "installed", At: at, Restarts: 1}}}, ""},
		{"product twice", agentapi.CheckinRequest{Inventory: []agentapi.Item{{Product: "a", Version: "1"}, {Product: "a", Version: "2"}}}, "inventory"},
		{"no version", agentapi.CheckinRequest{Inventory: []agentapi.Item{{Product: "a"}}}, "inventory"},
		{"long product", agentapi.CheckinRequest{Inventory: []agentapi.Item{{Product: strings.Repeat("a", 201), Version: "1"}}}, "inventory"},
		{"unknown state", agentapi.CheckinRequest{Reports: []agentapi.Report{{Update: 7, State: "done", At: at}}}, "reports"},
		{"unknown update", agentapi.CheckinRequest{Reports: []agentapi.Report{{Update: 8, State: "installed", At: at}}}, "reports"},
		{"no time", agentapi.CheckinRequest{Reports: []agentapi.Report{{Update: 7, State: "failed"}}}, "reports"},
		{"negative downtime", agentapi.CheckinRequest{Reports: []agentapi.Report{{Update: 7, State: "failed", At: at, Downtime: -1}}}, "reports"},
		{"bad os", agentapi.CheckinRequest{OS: "Linux 6.1"}, "os"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCheckin(&tt.req, testView())
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if fs := patchday.FieldErrors(err); fs[tt.field] == "" || !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("err = %v, want a problem with %s", err, tt.field)
			}
		})
	}
}

// FuzzCheckin: whatever an agent (or anyone with a credential) sends,
// checking it never panics, and what passes is within the limits the
// store and the answer rely on.
func FuzzCheckin(f *testing.F) {
	f.Add(`{"os":"linux","arch":"amd64","inventory":[{"product":"nginx","version":"1"}]}`)
	f.Add(`{"reports":[{"update":7,"state":"installed","at":"2026-12-01T00:00:00Z","restarts":1,"downtime_s":30}],"lease":true}`)
	f.Add(`{"inventory":[{"product":"a","version":"1"},{"product":"a","version":"1"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req agentapi.CheckinRequest
		if jsonv2.Unmarshal([]byte(body), &req) != nil { // as the server decodes (web.decodeAgent)
			return
		}
		err := checkCheckin(&req, testView())
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("not ErrInvalid: %v", err)
			}
			return
		}
		if len(req.Inventory) > maxInventory || len(req.Reports) > 500 {
			t.Fatal("accepted beyond the limits")
		}
		for _, r := range req.Reports {
			if r.At.IsZero() || r.Downtime < 0 || len(r.Detail) > 2000 {
				t.Fatalf("accepted report %+v", r)
			}
		}
	})
}
