package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/release"
)

// nginxAncient is a version no update in the catalog has a delta from:
// the first update installs over it with its full payload.
const nginxAncient = "1.22.1-9+deb12u8"

const (
	fleetAdminEmail = "fleet@example.com"
	fleetAdminPass  = "a long enough password"
)

// fleetEnv is a harness whose signed catalog carries two real updates of
// nginx: first (nginxOld, over nginxAncient, full payload only) and second
// (nginxNew, over nginxOld, superseding first; with a delta from nginxOld
// if the test asks for one: building it is most of the setup's time).
type fleetEnv struct {
	*harness
	svc           *fleet.Service
	admin         string // a fleet-admin's API token
	first, second catalog.Entry
}

func newFleetEnv(t *testing.T, delta bool) *fleetEnv {
	t.Helper()
	h := newHarness(t)
	ctx := t.Context()
	if _, err := h.srv.Products.Add(ctx, audit.System, "nginx", "Debian", "debian"); err != nil {
		t.Fatal(err)
	}
	first := h.publish(nginxOld, []string{nginxAncient}, nil, h.storePayload(nginxOld, "service:nginx"))
	h.publish(nginxNew, []string{nginxOld}, []release.Superseded{{ID: first.ID, Brings: nginxOld}}, h.storePayload(nginxNew, "service:nginx"))
	cat := h.srv.Catalog
	deltas := 1
	if !delta {
		cat, deltas = catalog.NewService(h.db, h.db, h.srv.Blobs, h.repo, 0, h.srv.Log, h.clock.Now), 0
	}
	if got, err := cat.Sync(ctx); err != nil || !got.Signed || len(got.Added) != 2 {
		t.Fatalf("sync: %+v %v", got, err)
	}
	es, err := cat.Entries(ctx)
	if err != nil || len(es) != 2 || len(es[1].Deltas) != deltas || deltas == 1 && es[1].Deltas[0].From != nginxOld {
		t.Fatalf("catalog entries: %+v %v", es, err)
	}
	// The fleet reads the newest signed targets when its view is rebuilt.
	if err := h.srv.Fleet.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	h.addUser(fleetAdminEmail, "fleet-admin", fleetAdminPass)
	return &fleetEnv{harness: h, svc: h.srv.Fleet, admin: h.token(fleetAdminEmail), first: es[0], second: es[1]}
}

// jsonReq builds a JSON request with an Authorization header, if any.
func jsonReq(method, path, authz, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v; body:\n%s", v, err, rec.Body)
	}
	return v
}

// enrollToken makes an enrollment token as the fleet service does for the
// administrator's form or API.
func (h *harness) enrollToken(labels []string, uses int, ttl time.Duration) (string, fleet.EnrollToken) {
	h.t.Helper()
	tok, et, err := h.srv.Fleet.CreateEnrollToken(h.t.Context(), audit.System, "test", labels, uses, ttl)
	if err != nil {
		h.t.Fatalf("CreateEnrollToken: %v", err)
	}
	return tok, et
}

// enroll enrolls a computer over HTTP and returns its credential.
func (h *harness) enroll(token, name string) agentapi.EnrollResponse {
	h.t.Helper()
	rec := h.do(jsonReq(http.MethodPost, agentapi.EnrollPath, "", mustJSON(h.t, agentapi.EnrollRequest{Token: token, Name: name, OS: "linux", Arch: "amd64"})))
	if rec.Code != http.StatusCreated {
		h.t.Fatalf("enroll %s: %d %s", name, rec.Code, rec.Body)
	}
	return decode[agentapi.EnrollResponse](h.t, rec)
}

// checkin sends one check-in with the credential.
func (h *harness) checkin(cred string, req agentapi.CheckinRequest) *httptest.ResponseRecorder {
	h.t.Helper()
	authz := ""
	if cred != "" {
		authz = "Bearer " + cred
	}
	return h.do(jsonReq(http.MethodPost, agentapi.CheckinPath, authz, mustJSON(h.t, req)))
}

// mustCheckin sends a check-in that must be answered.
func (h *harness) mustCheckin(cred string, req agentapi.CheckinRequest) agentapi.CheckinResponse {
	h.t.Helper()
	rec := h.checkin(cred, req)
	if rec.Code != http.StatusOK {
		h.t.Fatalf("check-in: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("check-in Content-Type %q", ct)
	}
	return decode[agentapi.CheckinResponse](h.t, rec)
}

func (h *harness) computerCount() int {
	h.t.Helper()
	cs, err := h.db.Computers(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	return len(cs)
}

// api sends a JSON request with the fleet administrator's token and
// checks its status.
func (e *fleetEnv) api(method, path, body string, want int) *httptest.ResponseRecorder {
	e.t.Helper()
	rec := e.do(jsonReq(method, path, "Bearer "+e.admin, body))
	if rec.Code != want {
		e.t.Fatalf("%s %s: %d, want %d; body:\n%s", method, path, rec.Code, want, rec.Body)
	}
	return rec
}

// putGroup makes a group through the API.
func (e *fleetEnv) putGroup(name string, g map[string]any) apiGroup {
	e.t.Helper()
	return decode[apiGroup](e.t, e.api(http.MethodPut, "/api/v1/fleet/groups/"+name, mustJSON(e.t, g), http.StatusOK))
}

// approve approves an update for a group through the API.
func (e *fleetEnv) approve(update int64, group string) apiApproval {
	e.t.Helper()
	return decode[apiApproval](e.t, e.api(http.MethodPost, "/api/v1/fleet/approvals", mustJSON(e.t, apiApprovalIn{Update: update, Group: group}), http.StatusCreated))
}

// approval returns one approval as the API lists it.
func (e *fleetEnv) approval(id int64) apiApproval {
	e.t.Helper()
	for _, a := range decode[[]apiApproval](e.t, e.api(http.MethodGet, "/api/v1/fleet/approvals", "", http.StatusOK)) {
		if a.ID == id {
			return a
		}
	}
	e.t.Fatalf("no approval %d listed", id)
	return apiApproval{}
}

// eventually polls cond until it holds: the view check-ins are answered
// from is rebuilt after a batch is written, not before the answer.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func inventory(version string) []agentapi.Item {
	return []agentapi.Item{{Product: "nginx", Version: version}, {Product: "openssl", Version: "3.0.15-1~deb12u1"}}
}

func updateIDs(as []agentapi.Assignment) []int64 {
	var out []int64
	for _, a := range as {
		out = append(out, a.Update)
	}
	return out
}

// fastPolicy rolls out to the whole group at once.
func fastPolicy(extra map[string]any) map[string]any {
	p := map[string]any{"waves": []float64{100}}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestFleetEnroll(t *testing.T) {
	h := newHarness(t)
	once, _ := h.enrollToken([]string{"site=berlin"}, 1, time.Hour)
	kept, _ := h.enrollToken(nil, 1, time.Hour) // only ever refused, until the end
	expired, _ := h.enrollToken(nil, 5, time.Minute)
	revoked, rt := h.enrollToken(nil, 5, time.Hour)
	if err := h.db.RevokeEnrollToken(t.Context(), rt.ID, h.clock.Now()); err != nil {
		t.Fatal(err)
	}

	// The first use enrolls, and the credential names the computer.
	got := h.enroll(once, "web-01.example.com")
	if !regexp.MustCompile(`^pdc_` + strconv.FormatInt(got.Computer, 10) + `\.[A-Za-z0-9_-]{32}$`).MatchString(got.Credential) {
		t.Fatalf("credential %q for computer %d", got.Credential, got.Computer)
	}
	cs, err := h.db.Computers(t.Context())
	if err != nil || len(cs) != 1 || cs[0].Name != "web-01.example.com" || !slices.Equal(cs[0].Labels, []string{"site=berlin"}) {
		t.Fatalf("computers after enrolling: %+v %v", cs, err)
	}
	if got := h.mustCheckin(got.Credential, agentapi.CheckinRequest{OS: "linux", Arch: "amd64"}); got.Group != fleet.Unassigned {
		t.Errorf("a fresh computer's group is %q", got.Group)
	}

	// Every refusal below leaves the store as it is.
	body := func(token, name, os string) string {
		return mustJSON(t, agentapi.EnrollRequest{Token: token, Name: name, OS: os, Arch: "amd64"})
	}
	h.clock.Advance(2 * time.Minute) // past the expired token's minute
	tests := []struct {
		name   string
		body   string
		code   int
		fields []string // named in the error
		want   string   // in the error
	}{
		{"second use", body(once, "web-02", "linux"), 401, nil, "used up"},
		{"unknown token", body("pde_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "web-02", "linux"), 401, nil, "unknown"},
		{"not a token", body("pdt_staff", "web-02", "linux"), 401, nil, "enrollment token"},
		{"expired token", body(expired, "web-02", "linux"), 401, nil, "expired"},
		{"revoked token", body(revoked, "web-02", "linux"), 401, nil, "revoked"},
		{"not JSON", "token=" + kept, 422, nil, "the JSON body could not be read"},
		{"trailing data", body(kept, "web-02", "linux") + `{}`, 422, nil, "must hold exactly one object"},
		{"missing name", body(kept, "", "linux"), 422, []string{"name"}, "incomplete"},
		{"control character in name", body(kept, "web\x00", "linux"), 422, []string{"name"}, "incomplete"},
		{"bad os", body(kept, "web-02", "Linux"), 422, []string{"os"}, "incomplete"},
		{"every problem at once", `{"token":"` + kept + `","os":"win dows","labels":["Bad Label"]}`, 422, []string{"name", "os", "arch", "labels"}, "incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(jsonReq(http.MethodPost, agentapi.EnrollPath, "", tt.body))
			if rec.Code != tt.code {
				t.Fatalf("%d, want %d; body:\n%s", rec.Code, tt.code, rec.Body)
			}
			e := decode[errorBody](t, rec)
			if !strings.Contains(e.Error, tt.want) {
				t.Errorf("error %q lacks %q", e.Error, tt.want)
			}
			for _, f := range tt.fields {
				if e.Fields[f] == "" {
					t.Errorf("fields %v lack %q", e.Fields, f)
				}
			}
			if len(e.Fields) != len(tt.fields) {
				t.Errorf("fields %v, want exactly %v", e.Fields, tt.fields)
			}
			if n := h.computerCount(); n != 1 {
				t.Errorf("%d computers after a refusal, want 1", n)
			}
		})
	}
	// The malformed enrollments did not use the token up.
	h.enroll(kept, "web-02")
	if n := h.computerCount(); n != 2 {
		t.Errorf("%d computers, want 2", n)
	}
}

func TestFleetCheckin(t *testing.T) {
	e := newFleetEnv(t, true)
	tok, _ := e.enrollToken([]string{"site=berlin"}, 3, time.Hour)
	onOld := e.enroll(tok, "web-01")     // nginxOld: the second update, by its delta
	onAncient := e.enroll(tok, "web-02") // nginxAncient: the first, in full

	// Unassigned: seen and counted, nothing offered.
	got := e.mustCheckin(onOld.Credential, agentapi.CheckinRequest{OS: "linux", Arch: "amd64", Inventory: inventory(nginxOld)})
	if got.Computer != onOld.Computer || got.Group != fleet.Unassigned || got.Updates == nil || len(got.Updates) != 0 || got.Install || got.Next != 3600 {
		t.Fatalf("unassigned check-in: %+v", got)
	}

	t.Run("refused", func(t *testing.T) {
		good := mustJSON(t, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})
		id := strconv.FormatInt(onOld.Computer, 10)
		secret := onOld.Credential[strings.Index(onOld.Credential, ".")+1:]
		tests := []struct {
			name, authz, body string
			code              int
			field             string
		}{
			{"no credential", "", good, 401, ""},
			{"not bearer", "Basic " + onOld.Credential, good, 401, ""},
			{"wrong secret", "Bearer pdc_" + id + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", good, 401, ""},
			{"other computer's secret", "Bearer pdc_" + strconv.FormatInt(onAncient.Computer, 10) + "." + secret, good, 401, ""},
			{"unknown computer", "Bearer pdc_999." + secret, good, 401, ""},
			{"staff token", "Bearer " + e.admin, good, 401, ""},
			{"not JSON", "Bearer " + onOld.Credential, "inventory", 422, ""},
			{"trailing data", "Bearer " + onOld.Credential, good + "[]", 422, ""},
			{"product twice", "Bearer " + onOld.Credential, `{"inventory":[{"product":"a","version":"1"},{"product":"a","version":"2"}]}`, 422, "inventory"},
			// Requests are reused: an earlier check-in's version must not show through.
			{"no version", "Bearer " + onOld.Credential, `{"inventory":[{"product":"nginx"}]}`, 422, "inventory"},
			{"unknown update", "Bearer " + onOld.Credential, `{"reports":[{"update":999,"state":"installed","at":"2026-03-10T09:00:00Z"}]}`, 422, "reports"},
			{"unknown state", "Bearer " + onOld.Credential, fmt.Sprintf(`{"reports":[{"update":%d,"state":"done","at":"2026-03-10T09:00:00Z"}]}`, e.second.Update.ID), 422, "reports"},
			{"bad os", "Bearer " + onOld.Credential, `{"os":"Linux"}`, 422, "os"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := e.do(jsonReq(http.MethodPost, agentapi.CheckinPath, tt.authz, tt.body))
				if rec.Code != tt.code {
					t.Fatalf("%d, want %d; body:\n%s", rec.Code, tt.code, rec.Body)
				}
				if tt.field != "" {
					if f := decode[errorBody](t, rec).Fields; f[tt.field] == "" {
						t.Errorf("fields %v lack %q", f, tt.field)
					}
				}
			})
		}
	})

	// A group claiming the token's label, and both updates approved for it.
	g := e.putGroup("berlin", map[string]any{"ring": 1, "labels": []string{"site=berlin"}, "policy": fastPolicy(nil)})
	if g.Name != "berlin" || g.Window != nil || g.Policy == nil || g.Policy.MaxUnavailable != 1 || !slices.Equal(g.Policy.Waves, []float64{100}) {
		t.Fatalf("group: %+v", g)
	}
	a2 := e.approve(e.second.Update.ID, "berlin")
	a1 := e.approve(e.first.Update.ID, "berlin")
	if a2.Group != "berlin" || a2.Action != fleet.ActionInstall || a2.By != fleetAdminEmail || a2.Braked {
		t.Fatalf("approval: %+v", a2)
	}
	if err := e.svc.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		cred      string
		installed string
		want      agentapi.Assignment
	}{
		{"delta from the installed version", onOld.Credential, nginxOld, agentapi.Assignment{Update: e.second.Update.ID, Action: "install", Product: "nginx",
			Version: nginxNew, From: nginxOld, Target: e.second.Deltas[0].Path, Full: e.second.Full.Path, Restart: "service:nginx"}},
		{"full payload without a delta", onAncient.Credential, nginxAncient, agentapi.Assignment{Update: e.first.Update.ID, Action: "install", Product: "nginx",
			Version: nginxOld, From: nginxAncient, Target: e.first.Full.Path, Full: e.first.Full.Path, Restart: "service:nginx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.mustCheckin(tt.cred, agentapi.CheckinRequest{OS: "linux", Arch: "amd64", Inventory: inventory(tt.installed)})
			if got.Group != "berlin" || !got.Install || got.Window != nil || got.Lease != nil || len(got.Updates) != 1 {
				t.Fatalf("answer: %+v", got)
			}
			if got.Updates[0] != tt.want {
				t.Errorf("assignment\n got %+v\nwant %+v", got.Updates[0], tt.want)
			}
			if got.Next != 300 {
				t.Errorf("next %d while installing, want 300 (Soon)", got.Next)
			}
		})
	}

	// The install succeeds; resending the same report counts once.
	report := agentapi.CheckinRequest{Inventory: inventory(nginxNew), Reports: []agentapi.Report{{Update: e.second.Update.ID, State: agentapi.Installed,
		At: e.clock.Now(), Restarts: 1, Downtime: 90}}}
	for range 3 {
		if got := e.mustCheckin(onOld.Credential, report); len(got.Updates) != 0 {
			t.Errorf("after installing: %+v", got.Updates)
		}
	}
	// The counters are written with the check-in; the view shows them once
	// it is rebuilt.
	eventually(t, "the approval counts the install", func() bool { return e.approval(a2.ID).Counts.Succeeded > 0 })
	if err := e.svc.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.approval(a2.ID); got.Counts.Succeeded != 1 || got.Counts.Failed != 0 || got.Braked {
		t.Errorf("approval after one install reported three times: %+v", got.Counts)
	}
	if got := e.approval(a1.ID); got.Counts.Succeeded != 0 {
		t.Errorf("the other approval counted: %+v", got.Counts)
	}
	comps := decode[[]apiComputer](t, e.api(http.MethodGet, "/api/v1/fleet/computers", "", http.StatusOK))
	if len(comps) != 2 || comps[0].ID != onOld.Computer || comps[0].Group != "berlin" || comps[0].Tally == nil ||
		comps[0].Tally.Installed != 2 || comps[0].Tally.Restarts != 1 || comps[0].Tally.DowntimeMin != 1 {
		t.Errorf("computers: %s", mustJSON(t, comps))
	}
	// Withdrawn, the approval offers nothing more.
	e.api(http.MethodDelete, fmt.Sprintf("/api/v1/fleet/approvals/%d", a1.ID), "", http.StatusNoContent)
	e.api(http.MethodDelete, fmt.Sprintf("/api/v1/fleet/approvals/%d", a1.ID), "", http.StatusNotFound)
	if got := e.mustCheckin(onAncient.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxAncient)}); len(got.Updates) != 0 || got.Install {
		t.Errorf("after withdrawing: %+v", got)
	}
}

func TestFleetBrake(t *testing.T) {
	e := newFleetEnv(t, false)
	e.putGroup("canary", map[string]any{"labels": []string{"ring=canary"}, "policy": fastPolicy(map[string]any{"brake_failures": 2})})
	a := e.approve(e.second.Update.ID, "canary")
	tok, _ := e.enrollToken([]string{"ring=canary"}, 3, time.Hour)
	var creds []string
	for i := range 3 {
		creds = append(creds, e.enroll(tok, fmt.Sprintf("canary-%d", i)).Credential)
	}
	offered := func(cred string) bool {
		got := e.mustCheckin(cred, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})
		return slices.Contains(updateIDs(got.Updates), e.second.Update.ID)
	}
	for _, c := range creds {
		if !offered(c) {
			t.Fatal("the update is not offered before anything failed")
		}
	}
	fail := agentapi.CheckinRequest{Inventory: inventory(nginxOld), Reports: []agentapi.Report{{Update: e.second.Update.ID, State: agentapi.Failed,
		Detail: "nginx -t: configuration test failed", At: e.clock.Now()}}}
	e.mustCheckin(creds[0], fail)
	e.mustCheckin(creds[0], fail) // the same failure again counts once
	if err := e.svc.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.approval(a.ID); got.Braked || got.Counts.Failed != 1 {
		t.Fatalf("after one failure: %+v", got)
	}
	e.mustCheckin(creds[1], fail)
	// The brake trips as the second failure is written; the view is rebuilt
	// after that.
	eventually(t, "the brake trips", func() bool { return e.approval(a.ID).Braked })
	got := e.approval(a.ID)
	if got.Counts.Failed != 2 || !strings.Contains(got.BrakeReason, "2 failures") || !strings.Contains(got.BrakeReason, "the limit is 2") {
		t.Errorf("braked approval: %+v", got)
	}
	eventually(t, "the brake is audited", func() bool { return slices.Contains(e.auditActions(), "fleet.brake") })
	// The administrator sees why each computer failed.
	c := decode[fleet.Compliance](t, e.api(http.MethodGet, "/api/v1/fleet/compliance", "", http.StatusOK))
	whys := 0
	for _, cc := range c.Computers {
		if cc.Why[e.second.Update.ID] == "nginx -t: configuration test failed" {
			whys++
		}
	}
	if whys != 2 {
		t.Errorf("compliance gives the reason for %d of the 2 failures: %s", whys, mustJSON(t, c.Computers))
	}
	for i, c := range creds {
		if offered(c) {
			t.Errorf("computer %d is offered a braked update", i)
		}
	}

	// Acknowledged, the rollout goes on; acknowledging again is a conflict.
	ack := decode[apiApproval](t, e.api(http.MethodPost, fmt.Sprintf("/api/v1/fleet/approvals/%d/acknowledge", a.ID), "", http.StatusOK))
	if ack.Braked || ack.BrakeReason != "" || ack.Counts.Failed != 2 {
		t.Errorf("acknowledged: %+v", ack)
	}
	if !offered(creds[2]) {
		t.Error("the update is not offered after the acknowledgement")
	}
	rec := e.api(http.MethodPost, fmt.Sprintf("/api/v1/fleet/approvals/%d/acknowledge", a.ID), "", http.StatusConflict)
	if msg := decode[errorBody](t, rec).Error; !strings.Contains(msg, "not braked") {
		t.Errorf("conflict: %q", msg)
	}
	e.api(http.MethodPost, "/api/v1/fleet/approvals/999/acknowledge", "", http.StatusNotFound)
	e.api(http.MethodPost, "/api/v1/fleet/approvals/x/acknowledge", "", http.StatusNotFound)
	// Failures count afresh from the acknowledgement: one more is not two.
	e.mustCheckin(creds[2], fail)
	if err := e.svc.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.approval(a.ID); got.Braked || got.Counts.Failed != 3 {
		t.Errorf("one failure after the acknowledgement: %+v", got)
	}
}

func TestFleetWindows(t *testing.T) {
	e := newFleetEnv(t, false)
	now := e.clock.Now() // Tuesday 2026-03-10 09:00 UTC, 10:00 in Berlin
	tests := []struct {
		name   string
		window map[string]string
		start  time.Time
		next   int
	}{
		// Saturday night is days away: come back at the usual interval.
		{"weekend", map[string]string{"rule": "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", "duration": "4h"},
			time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC), 3600},
		// Half an hour away: come back when it opens.
		{"soon", map[string]string{"rule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=30", "duration": "1h"},
			time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC), 1800},
		// Wall-clock times in the group's zone: 10:20 in Berlin is 09:20 UTC.
		{"berlin", map[string]string{"rule": "FREQ=DAILY;BYHOUR=10;BYMINUTE=20", "duration": "10m", "tz": "Europe/Berlin"},
			time.Date(2026, 3, 10, 9, 20, 0, 0, time.UTC), 1200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := e.putGroup(tt.name, map[string]any{"labels": []string{"win=" + tt.name}, "window": tt.window, "policy": fastPolicy(nil)})
			if g.Window == nil || g.Window.Rule != tt.window["rule"] || g.NextStart == nil || !g.NextStart.Equal(tt.start) {
				t.Fatalf("group: %s", mustJSON(t, g))
			}
			e.approve(e.second.Update.ID, tt.name)
			tok, _ := e.enrollToken([]string{"win=" + tt.name}, 1, time.Hour)
			c := e.enroll(tok, tt.name+"-01")
			got := e.mustCheckin(c.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld), Lease: true})
			if got.Group != tt.name || got.Install || len(got.Updates) != 1 || got.Updates[0].Update != e.second.Update.ID {
				t.Fatalf("answer: %+v", got)
			}
			if got.Window == nil || got.Window.Open || !got.Window.Start.Equal(tt.start) || !got.Window.Start.After(now) ||
				!got.Window.End.Equal(tt.start.Add(mustDuration(t, tt.window["duration"]))) {
				t.Errorf("window: %+v, want closed, starting %s", got.Window, tt.start)
			}
			if got.Lease != nil {
				t.Errorf("a restart lease outside the window: %+v", got.Lease)
			}
			got = e.mustCheckin(c.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})
			if got.Next != tt.next {
				t.Errorf("next %d, want %d", got.Next, tt.next)
			}
		})
	}

	// Once the window opens, the batch installs.
	e.clock.Advance(35 * time.Minute) // 09:35: "soon" is open, "berlin" is over for today
	for name, want := range map[string]bool{"soon": true, "berlin": false, "weekend": false} {
		tok, _ := e.enrollToken([]string{"win=" + name}, 1, time.Hour)
		got := e.mustCheckin(e.enroll(tok, name+"-02").Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})
		if got.Install != want || got.Window == nil || got.Window.Open != want {
			t.Errorf("%s at 09:35: install %v, window %+v; want %v", name, got.Install, got.Window, want)
		}
	}

	// A deadline that has passed installs outside the window.
	deadline := e.clock.Now().Add(10 * time.Minute)
	a := decode[apiApproval](t, e.api(http.MethodPost, "/api/v1/fleet/approvals", mustJSON(t, apiApprovalIn{Update: e.second.Update.ID, Group: "weekend",
		Deadline: deadline.Format(time.RFC3339)}), http.StatusCreated))
	if a.Deadline == nil || !a.Deadline.Equal(deadline) {
		t.Fatalf("approval with a deadline: %+v", a)
	}
	tok, _ := e.enrollToken([]string{"win=weekend"}, 1, time.Hour)
	c := e.enroll(tok, "weekend-03")
	if got := e.mustCheckin(c.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld)}); got.Install ||
		len(got.Updates) != 1 || got.Updates[0].Deadline == nil || !got.Updates[0].Deadline.Equal(deadline) {
		t.Errorf("before the deadline: %+v", got)
	}
	e.clock.Advance(11 * time.Minute)
	if got := e.mustCheckin(c.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld)}); !got.Install || got.Window.Open {
		t.Errorf("after the deadline: %+v", got)
	}
	// A deadline in the past is refused, naming the field.
	rec := e.api(http.MethodPost, "/api/v1/fleet/approvals", mustJSON(t, apiApprovalIn{Update: e.second.Update.ID, Group: "weekend", Deadline: "2026-03-01 12:00"}),
		http.StatusUnprocessableEntity)
	if f := decode[errorBody](t, rec).Fields; f["deadline"] == "" {
		t.Errorf("fields %v lack deadline", f)
	}
}

func mustDuration(t testing.TB, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFleetRestartLease(t *testing.T) {
	e := newFleetEnv(t, false)
	e.putGroup("web", map[string]any{"labels": []string{"role=web"}, "policy": fastPolicy(map[string]any{"max_unavailable": 1})})
	e.approve(e.second.Update.ID, "web")
	tok, _ := e.enrollToken([]string{"role=web"}, 2, time.Hour)
	a, b := e.enroll(tok, "web-a"), e.enroll(tok, "web-b")
	ask := agentapi.CheckinRequest{Inventory: inventory(nginxOld), Lease: true}

	got := e.mustCheckin(a.Credential, ask)
	if got.Lease == nil || !got.Lease.Until.Equal(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("A asks for a lease: %+v", got.Lease)
	}
	if got := e.mustCheckin(b.Credential, ask); got.Lease != nil {
		t.Fatalf("B has a lease while A holds the only one: %+v", got.Lease)
	}
	if got := e.mustCheckin(a.Credential, ask); got.Lease == nil {
		t.Fatal("A asking again loses its lease")
	}
	// A restarted and is healthy: it returns the lease.
	if got := e.mustCheckin(a.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxNew), Done: true}); got.Lease != nil {
		t.Errorf("returning the lease gives one: %+v", got.Lease)
	}
	if got := e.mustCheckin(b.Credential, ask); got.Lease == nil {
		t.Fatal("B gets no lease after A returned it")
	}
	// An unreturned lease expires.
	e.clock.Advance(31 * time.Minute)
	if got := e.mustCheckin(a.Credential, ask); got.Lease == nil {
		t.Error("A gets no lease after B's expired")
	}
}

func TestFleetCompliance(t *testing.T) {
	e := newFleetEnv(t, false)
	e.putGroup("all", map[string]any{"labels": []string{"fleet"}, "policy": fastPolicy(nil)})
	tok, _ := e.enrollToken([]string{"fleet"}, 3, time.Hour)
	computers := []struct {
		name, version string
	}{
		{"web-01", nginxOld},            // has the first, needs the second
		{"web-02", nginxAncient},        // needs the first; the second does not apply
		{"=HYPERLINK(\"x\")", nginxNew}, // has both: the second supersedes the first
	}
	for _, c := range computers {
		cred := e.enroll(tok, c.name).Credential
		e.mustCheckin(cred, agentapi.CheckinRequest{OS: "linux", Arch: "amd64", Inventory: inventory(c.version)})
	}
	unassigned, _ := e.enrollToken(nil, 1, time.Hour)
	e.enroll(unassigned, "lab-01") // never checked in: nothing installed

	c := decode[fleet.Compliance](t, e.api(http.MethodGet, "/api/v1/fleet/compliance", "", http.StatusOK))
	type counts struct{ Installed, Needed, NotApplicable int }
	got := map[int64]counts{}
	for _, u := range c.Updates {
		got[u.ID] = counts{u.Tally.Installed, u.Tally.Needed, u.Tally.NotApplicable}
	}
	want := map[int64]counts{
		e.first.Update.ID:  {Installed: 2, Needed: 1, NotApplicable: 1},
		e.second.Update.ID: {Installed: 1, Needed: 1, NotApplicable: 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("per update: %v, want %v", got, want)
	}
	if len(c.Computers) != 4 || len(c.Groups) != 2 || c.Groups[0].Group != fleet.Unassigned || c.Groups[0].Computers != 1 || c.Groups[1].Computers != 3 {
		t.Errorf("compliance: %s", mustJSON(t, c))
	}
	if t2 := c.Updates[1].Groups["all"]; t2.Installed != 1 || t2.Needed != 1 {
		t.Errorf("the second update in group all: %+v", t2)
	}

	rec := e.do(apiGet("/api/v1/fleet/compliance?format=csv", "Bearer "+e.admin))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") ||
		!strings.Contains(rec.Header().Get("Content-Disposition"), "compliance-2026-03-10.csv") {
		t.Fatalf("CSV: %d %v", rec.Code, rec.Header())
	}
	rows, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+4*2 || strings.Join(rows[0], ",") != "computer,name,group,last_seen,update,product,version,state,why" {
		t.Fatalf("CSV rows:\n%s", rec.Body)
	}
	var names []string
	for _, r := range rows[1:] {
		names = append(names, r[1])
		if r[1] == "web-02" && r[4] == strconv.FormatInt(e.first.Update.ID, 10) && (r[2] != "all" || r[7] != "needed") {
			t.Errorf("web-02's row for the first update: %v", r)
		}
	}
	if !slices.Contains(names, `'=HYPERLINK("x")`) || slices.Contains(names, `=HYPERLINK("x")`) {
		t.Errorf("a formula-like host name is not escaped: %q", names)
	}
	// The staff page's export is the same file.
	session := e.signIn(fleetAdminEmail, fleetAdminPass)
	if page := e.do(get("/fleet/compliance.csv", session)); page.Code != http.StatusOK || page.Body.String() != rec.Body.String() {
		t.Errorf("/fleet/compliance.csv: %d\n%s", page.Code, page.Body)
	}
}

func TestFleetRetire(t *testing.T) {
	e := newFleetEnv(t, false)
	tok, _ := e.enrollToken(nil, 2, time.Hour)
	gone, stays := e.enroll(tok, "old-box"), e.enroll(tok, "new-box")
	e.mustCheckin(gone.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})

	path := fmt.Sprintf("/api/v1/fleet/computers/%d/retire", gone.Computer)
	// Any staff member reads the fleet; only a fleet admin retires.
	e.addUser("dev@example.com", "developer", "another long password")
	dev := e.token("dev@example.com")
	if rec := e.do(jsonReq(http.MethodPost, path, "Bearer "+dev, "")); rec.Code != http.StatusForbidden {
		t.Fatalf("a developer retires: %d", rec.Code)
	}
	if rec := e.do(apiGet("/api/v1/fleet/computers", "Bearer "+dev)); rec.Code != http.StatusOK {
		t.Fatalf("a developer lists computers: %d", rec.Code)
	}
	e.api(http.MethodPost, path, "", http.StatusNoContent)
	e.api(http.MethodPost, path, "", http.StatusNotFound)
	e.api(http.MethodPost, "/api/v1/fleet/computers/0/retire", "", http.StatusNotFound)

	rec := e.checkin(gone.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("a retired computer checks in: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	e.mustCheckin(stays.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})
	comps := decode[[]apiComputer](t, e.api(http.MethodGet, "/api/v1/fleet/computers", "", http.StatusOK))
	if len(comps) != 1 || comps[0].ID != stays.Computer {
		t.Errorf("computers after retiring: %s", mustJSON(t, comps))
	}
	if !slices.Contains(e.auditActions(), "fleet.computer.retire") {
		t.Errorf("audit lacks the retirement: %v", e.auditActions())
	}
}

func TestFleetAPI(t *testing.T) {
	e := newFleetEnv(t, false)
	e.addUser("dev@example.com", "developer", "another long password")
	dev := e.token("dev@example.com")

	ups := decode[[]apiUpdate](t, e.api(http.MethodGet, "/api/v1/fleet/updates", "", http.StatusOK))
	if len(ups) != 2 || ups[1].ID != e.second.Update.ID || ups[1].Target != e.second.Full.Path || ups[1].Deltas != len(e.second.Deltas) ||
		ups[1].Version != nginxNew || ups[1].Restart != "service:nginx" || !ups[1].FirstSeen.Equal(e.clock.Now()) {
		t.Errorf("updates: %s", mustJSON(t, ups))
	}

	tests := []struct {
		name, method, path, token, body string
		code                            int
		want                            string // in the body
	}{
		{"no token", "GET", "/api/v1/fleet/groups", "", "", 401, "API token"},
		{"developer reads", "GET", "/api/v1/fleet/groups", dev, "", 200, "[]"},
		{"developer may not write", "PUT", "/api/v1/fleet/groups/pilot", dev, `{}`, 403, "fleet-admin"},
		{"partial policy", "PUT", "/api/v1/fleet/groups/pilot", e.admin, `{"labels":["pilot"],"policy":{"brake_failures":2}}`, 200, `"brake_failures": 2`},
		{"defaults kept", "GET", "/api/v1/fleet/groups", e.admin, "", 200, `"max_unavailable": 1`},
		{"bad group name", "PUT", "/api/v1/fleet/groups/Pilot", e.admin, `{}`, 422, `"name"`},
		{"reserved group name", "PUT", "/api/v1/fleet/groups/unassigned", e.admin, `{}`, 422, `"name"`},
		{"bad policy", "PUT", "/api/v1/fleet/groups/pilot", e.admin, `{"policy":{"waves":[50,10],"max_unavailable":0}}`, 422, `"policy.max_unavailable"`},
		{"bad policy duration", "PUT", "/api/v1/fleet/groups/pilot", e.admin, `{"policy":{"bake":"-1h"}}`, 422, "negative"},
		{"unknown policy field", "PUT", "/api/v1/fleet/groups/pilot", e.admin, `{"policy":{"wave":[100]}}`, 422, "wave"},
		{"bad window", "PUT", "/api/v1/fleet/groups/pilot", e.admin, `{"window":{"rule":"FREQ=SOMETIMES","duration":"4h"}}`, 422, `"rule"`},
		{"bad window length", "PUT", "/api/v1/fleet/groups/pilot", e.admin, `{"window":{"rule":"FREQ=DAILY","duration":"long"}}`, 422, `"duration"`},
		{"unknown field", "PUT", "/api/v1/fleet/groups/pilot", e.admin, `{"colour":"red"}`, 422, "unknown field"},
		{"approve unknown update", "POST", "/api/v1/fleet/approvals", e.admin, `{"update":999,"group":"pilot"}`, 422, `"update"`},
		{"approve for unknown group", "POST", "/api/v1/fleet/approvals", e.admin, fmt.Sprintf(`{"update":%d,"group":"nope"}`, e.first.Update.ID), 422, `"group"`},
		{"bad action", "POST", "/api/v1/fleet/approvals", e.admin, fmt.Sprintf(`{"update":%d,"group":"pilot","action":"reinstall"}`, e.first.Update.ID), 422, `"action"`},
		{"approve", "POST", "/api/v1/fleet/approvals", e.admin, fmt.Sprintf(`{"update":%d,"group":"pilot","why":"test"}`, e.first.Update.ID), 201, `"why": "test"`},
		{"no rules yet", "GET", "/api/v1/fleet/rules", dev, "", 200, "[]"},
		{"rules", "PUT", "/api/v1/fleet/rules", e.admin, `[{"name":"pilot-now","classifications":["security"],"group":"pilot","after":"72h"}]`, 200, `"after": "3d"`},
		{"rules read back", "GET", "/api/v1/fleet/rules", dev, "", 200, `"name": "pilot-now"`},
		{"rule for unknown group", "PUT", "/api/v1/fleet/rules", e.admin, `[{"name":"x","group":"broad"}]`, 422, `"rules[0].group"`},
		{"rules not an array", "PUT", "/api/v1/fleet/rules", e.admin, `{"name":"x"}`, 422, "JSON array"},
		{"token", "POST", "/api/v1/fleet/enroll-tokens", e.admin, `{"labels":["pilot"],"uses":5,"ttl":"24h","note":"lab"}`, 201, `"token": "pde_`},
		{"token defaults", "POST", "/api/v1/fleet/enroll-tokens", e.admin, `{}`, 201, `"max_uses": 1`},
		{"bad token", "POST", "/api/v1/fleet/enroll-tokens", e.admin, `{"uses":-1,"labels":["A B"]}`, 422, `"labels"`},
		{"bad ttl", "POST", "/api/v1/fleet/enroll-tokens", e.admin, `{"ttl":"3 days"}`, 422, `"ttl"`},
		{"developer may not make tokens", "POST", "/api/v1/fleet/enroll-tokens", dev, `{}`, 403, "fleet-admin"},
		{"delete unknown group", "DELETE", "/api/v1/fleet/groups/nope", e.admin, "", 404, "no group"},
		{"delete group", "DELETE", "/api/v1/fleet/groups/pilot", e.admin, "", 204, ""},
		{"its approvals go with it", "GET", "/api/v1/fleet/approvals", dev, "", 200, "[]"},
	}
	for _, tt := range tests {
		authz := ""
		if tt.token != "" {
			authz = "Bearer " + tt.token
		}
		rec := e.do(jsonReq(tt.method, tt.path, authz, tt.body))
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: %s %s = %d\n%s\nwant %d containing %q", tt.name, tt.method, tt.path, rec.Code, rec.Body, tt.code, tt.want)
		}
	}
	// A token made through the API enrolls, with its labels.
	rec := e.api(http.MethodPost, "/api/v1/fleet/enroll-tokens", `{"labels":["lab"]}`, http.StatusCreated)
	tok := decode[apiToken](t, rec)
	if tok.MaxUses != 1 || !tok.Expires.Equal(e.clock.Now().Add(72*time.Hour)) || !slices.Equal(tok.Labels, []string{"lab"}) {
		t.Errorf("token: %+v", tok)
	}
	e.enroll(tok.Token, "lab-01")
}

// TestFleetOverload: when check-ins arrive faster than they are written,
// agents are told to come back later, each after its own delay.
func TestFleetOverload(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.enrollToken(nil, 1, time.Hour)
	c := h.enroll(tok, "busy-01")
	// A service whose one-place queue nobody drains: the first check-in
	// waits in it until the agent gives up, the next finds it full.
	stuck := fleet.NewService(h.db, &fleet.TargetsCatalog{Metadata: h.db}, h.db, fleet.Config{Queue: 1}, h.srv.Log, h.clock.Now)
	running := h.srv.Fleet
	h.srv.Fleet = stuck
	defer func() { h.srv.Fleet = running }()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	body := mustJSON(t, agentapi.CheckinRequest{Inventory: inventory(nginxOld)})
	if rec := h.do(jsonReq(http.MethodPost, agentapi.CheckinPath, "Bearer "+c.Credential, body).WithContext(ctx)); rec.Code == http.StatusOK {
		t.Fatalf("a check-in nobody wrote was answered: %s", rec.Body)
	}
	rec := h.do(jsonReq(http.MethodPost, agentapi.CheckinPath, "Bearer "+c.Credential, body))
	want := strconv.Itoa(int(stuck.RetryAfter(c.Computer).Seconds()))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != want {
		t.Fatalf("overloaded: %d, Retry-After %q, want 429 and %s; body:\n%s", rec.Code, rec.Header().Get("Retry-After"), want, rec.Body)
	}
	// The delay is the computer's own, not one every agent shares.
	if want == strconv.Itoa(int(stuck.RetryAfter(0).Seconds())) {
		t.Errorf("computer %d is told the base delay, %s s", c.Computer, want)
	}
	if got := stuck.Stats().Overloads; got != 1 {
		t.Errorf("overloads counted: %d", got)
	}
}

func TestFleetPages(t *testing.T) {
	e := newFleetEnv(t, false)
	e.putGroup("pilot", map[string]any{"labels": []string{"pilot"}, "policy": fastPolicy(map[string]any{"brake_failures": 1})})
	a := e.approve(e.second.Update.ID, "pilot")
	tok, _ := e.enrollToken([]string{"pilot"}, 1, time.Hour)
	c := e.enroll(tok, "pilot-01.example.com")
	e.mustCheckin(c.Credential, agentapi.CheckinRequest{Inventory: inventory(nginxOld), Reports: []agentapi.Report{{Update: e.second.Update.ID,
		State: agentapi.Failed, Detail: "boom", At: e.clock.Now()}}})
	eventually(t, "the brake trips", func() bool { return e.approval(a.ID).Braked })

	admin := e.signIn(fleetAdminEmail, fleetAdminPass)
	e.addUser("dev@example.com", "developer", "another long password")
	dev := e.signIn("dev@example.com", "another long password")
	tests := []struct {
		name, session, path string
		code                int
		want, unwanted      []string
	}{
		{"fleet", admin, "/fleet/", 200, []string{`<table id="compliance">`, fmt.Sprintf(`data-update="%d"`, e.first.Update.ID),
			fmt.Sprintf(`data-update="%d"`, e.second.Update.ID), "Rollouts stopped by the failure brake", "Acknowledge the failures",
			`action="/fleet/tokens"`, "<th scope=\"col\">pilot</th>"}, nil},
		{"fleet read-only", dev, "/fleet/", 200, []string{`<table id="compliance">`, "Rollouts stopped by the failure brake"},
			[]string{"Acknowledge the failures", `action="/fleet/tokens"`}},
		{"computers", admin, "/fleet/computers", 200, []string{`<table id="computers">`, "pilot-01.example.com", "Retire"}, nil},
		{"groups", admin, "/fleet/groups", 200, []string{`<table id="groups">`, "<td>pilot</td>", "Save group"}, nil},
		{"groups read-only", dev, "/fleet/groups", 200, []string{"<td>pilot</td>"}, []string{"Save group"}},
		{"signed out", "", "/fleet/", 303, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(get(tt.path, tt.session))
			if rec.Code != tt.code {
				t.Fatalf("%d, want %d; body:\n%s", rec.Code, tt.code, rec.Body)
			}
			for _, w := range tt.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, w := range tt.unwanted {
				if strings.Contains(rec.Body.String(), w) {
					t.Errorf("shows %q", w)
				}
			}
		})
	}

	t.Run("group form", func(t *testing.T) {
		form := url.Values{"name": {"night"}, "ring": {"2"}, "labels": {"night"}, "rule": {"FREQ=SOMETIMES"}, "duration": {"4h"}, "waves": {"100"}}
		rec := e.do(post("/fleet/groups", form, admin))
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("a bad window rule: %d\n%s", rec.Code, rec.Body)
		}
		body := rec.Body.String()
		for _, w := range []string{`value="FREQ=SOMETIMES" aria-invalid="true"`, "not an RFC 5545 recurrence", `value="night"`} {
			if !strings.Contains(body, w) {
				t.Errorf("the re-rendered form lacks %q:\n%s", w, body)
			}
		}
		form.Set("rule", "FREQ=DAILY;BYHOUR=22")
		form.Set("bake", "soon")
		if rec := e.do(post("/fleet/groups", form, admin)); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "give a duration") {
			t.Errorf("a bad bake time: %d", rec.Code)
		}
		form.Del("bake")
		if rec := e.do(post("/fleet/groups", form, admin)); rec.Code != http.StatusSeeOther {
			t.Fatalf("a good group: %d\n%s", rec.Code, rec.Body)
		}
		gs := decode[[]apiGroup](t, e.api(http.MethodGet, "/api/v1/fleet/groups", "", http.StatusOK))
		if len(gs) != 2 || gs[1].Name != "night" || gs[1].Window == nil || gs[1].Window.Rule != "FREQ=DAILY;BYHOUR=22" || gs[1].Ring != 2 {
			t.Errorf("groups: %s", mustJSON(t, gs))
		}
		if rec := e.do(post("/fleet/groups", form, dev)); rec.Code != http.StatusForbidden {
			t.Errorf("a developer saves a group: %d", rec.Code)
		}
	})

	t.Run("token shown once", func(t *testing.T) {
		rec := e.do(post("/fleet/tokens", url.Values{"uses": {"2"}, "ttl": {"24h"}, "labels": {"pilot, site=lab"}, "note": {"lab"}}, admin))
		if rec.Code != http.StatusCreated {
			t.Fatalf("make a token: %d\n%s", rec.Code, rec.Body)
		}
		m := regexp.MustCompile(`<code id="enroll-token">(pde_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("no token shown:\n%s", rec.Body)
		}
		if again := e.do(get("/fleet/", admin)).Body.String(); strings.Contains(again, m[1]) || strings.Contains(again, `id="enroll-token"`) {
			t.Error("the token is shown again")
		}
		got := e.enroll(m[1], "lab-01")
		cs, _ := e.db.Computers(t.Context())
		if cs[len(cs)-1].ID != got.Computer || !slices.Equal(cs[len(cs)-1].Labels, []string{"pilot", "site=lab"}) {
			t.Errorf("enrolled with the page's token: %+v", cs[len(cs)-1])
		}
		if rec := e.do(post("/fleet/tokens", url.Values{"uses": {"0"}, "ttl": {"24h"}}, admin)); rec.Code != http.StatusUnprocessableEntity ||
			!strings.Contains(rec.Body.String(), "how many computers may enroll") {
			t.Errorf("a token for no computers: %d", rec.Code)
		}
		if rec := e.do(post("/fleet/tokens", url.Values{"uses": {"1"}, "ttl": {"24h"}}, dev)); rec.Code != http.StatusForbidden {
			t.Errorf("a developer makes a token: %d", rec.Code)
		}
	})

	t.Run("acknowledge", func(t *testing.T) {
		rec := e.do(post(fmt.Sprintf("/fleet/approvals/%d/acknowledge", a.ID), nil, admin))
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("acknowledge: %d\n%s", rec.Code, rec.Body)
		}
		if body := e.do(get("/fleet/", admin)).Body.String(); strings.Contains(body, "Rollouts stopped by the failure brake") {
			t.Error("the brake is still shown after the acknowledgement")
		}
		if rec := e.do(post(fmt.Sprintf("/fleet/approvals/%d/acknowledge", a.ID), nil, admin)); rec.Code != http.StatusConflict {
			t.Errorf("acknowledge again: %d", rec.Code)
		}
	})

	t.Run("retire", func(t *testing.T) {
		rec := e.do(post(fmt.Sprintf("/fleet/computers/%d/retire", c.Computer), nil, admin))
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/fleet/computers?done=") {
			t.Fatalf("retire: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if rec := e.checkin(c.Credential, agentapi.CheckinRequest{}); rec.Code != http.StatusUnauthorized {
			t.Errorf("a computer retired on the page checks in: %d", rec.Code)
		}
		if body := e.do(get("/fleet/computers", admin)).Body.String(); strings.Contains(body, "pilot-01.example.com") {
			t.Error("the retired computer is still listed")
		}
	})
}
