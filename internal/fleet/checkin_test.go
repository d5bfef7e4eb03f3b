package fleet

import (
	"errors"
	"hash/fnv"
	"sort"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

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
			inv, err := checkCheckin(&tt.req, testView())
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(inv) != len(tt.req.Inventory) {
					t.Fatalf("inventory %v from %v", inv, tt.req.Inventory)
				}
				for _, it := range tt.req.Inventory {
					if inv[it.Product] != it.Version {
						t.Fatalf("inventory %v from %v", inv, tt.req.Inventory)
					}
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
		inv, err := checkCheckin(&req, testView())
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("not ErrInvalid: %v", err)
			}
			return
		}
		if len(req.Inventory) > maxInventory || len(req.Reports) > 500 || len(inv) != len(req.Inventory) {
			t.Fatal("accepted beyond the limits")
		}
		for _, r := range req.Reports {
			if r.At.IsZero() || r.Downtime < 0 || len(r.Detail) > 2000 {
				t.Fatalf("accepted report %+v", r)
			}
		}
	})
}

// referenceHash is inventoryHash's documented format through hash/fnv:
// the stored hashes of earlier releases were made this way.
func referenceHash(inv []agentapi.Item, os, arch string) uint64 {
	items := make([]string, len(inv))
	for i, it := range inv {
		items[i] = it.Product + "\x00" + it.Version
	}
	sort.Strings(items)
	h := fnv.New64a()
	h.Write([]byte(os + "\x00" + arch + "\x00"))
	for _, it := range items {
		h.Write([]byte(it))
		h.Write([]byte{1})
	}
	return h.Sum64()
}

func TestInventoryHash(t *testing.T) {
	items := []agentapi.Item{{Product: "nginx", Version: "1.22.1-9+deb12u11"}, {Product: "libssl3", Version: "3.0.22"}, {Product: "libcurl4", Version: "7.88.1"}}
	for n := 1; n <= 70; n++ { // past the 64 products hashed without allocating
		for len(items) < n {
			items = append(items, agentapi.Item{Product: "p" + strings.Repeat("x", len(items)), Version: "1"})
		}
		inv := map[string]string{}
		for _, it := range items[:n] {
			inv[it.Product] = it.Version
		}
		if got, want := inventoryHash(inv, "linux", "amd64"), referenceHash(items[:n], "linux", "amd64"); got != want {
			t.Fatalf("%d products: hash %x, stored hashes are %x", n, got, want)
		}
	}
	base := map[string]string{"a": "1", "b": "2"}
	h := inventoryHash(base, "linux", "amd64")
	for name, other := range map[string]uint64{
		"version":  inventoryHash(map[string]string{"a": "1", "b": "3"}, "linux", "amd64"),
		"product":  inventoryHash(map[string]string{"a": "1", "c": "2"}, "linux", "amd64"),
		"os":       inventoryHash(base, "windows", "amd64"),
		"arch":     inventoryHash(base, "linux", "arm64"),
		"boundary": inventoryHash(map[string]string{"a": "1b", "": "2"}, "linux", "amd64"),
	} {
		if other == h {
			t.Errorf("a different %s hashes the same", name)
		}
	}
}

func BenchmarkInventoryHash(b *testing.B) {
	inv := map[string]string{}
	for i := range 12 {
		inv["product-"+strings.Repeat("x", i)] = "1.2.3-4+deb12u5"
	}
	b.ReportAllocs()
	for b.Loop() {
		inventoryHash(inv, "linux", "amd64")
	}
}
