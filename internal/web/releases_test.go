package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/patchday/patchday/internal/audit"

	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/pgp"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
)

// schedule walks a case to scheduled directly in the store: the rules are
// tested elsewhere; here only releases matter.
func (h *harness) schedule(id string) {
	h.t.Helper()
	c, err := h.db.CaseByRef(h.t.Context(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	prev := cases.Received
	for _, to := range []cases.State{cases.Triage, cases.Accepted, cases.Fixing, cases.Testing, cases.Verifying, cases.Scheduled} {
		if err := h.db.MoveCase(h.t.Context(), c.ID, cases.Move{From: prev, To: to, Actor: "test", At: h.clock.Now()},
			audit.New(audit.System, h.clock.Now(), "x", "", "")); err != nil {
			h.t.Fatal(err)
		}
		prev = to
	}
	ctx := h.t.Context()
	h.srv.Products.Add(ctx, audit.System, "Gateway", "Example Corp", "semver") // once; later calls conflict harmlessly
	v, _ := h.srv.Products.AddVersion(ctx, audit.System, "Gateway", "2.4.1")
	if v.ID == 0 {
		ps, _ := h.srv.Products.List(ctx)
		v = ps[0].Versions[0]
	}
	if _, err := h.srv.Cases.SetTriage(ctx, cases.Actor{UserID: 1, Email: "t@example.com", Roles: staff.Roles{staff.RoleTriager}},
		"x", id, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CWE-122", []int64{v.ID}, 0); err != nil {
		h.t.Fatal(err)
	}
	dev, err := h.db.UserByEmail(ctx, "builder@example.com")
	if err != nil {
		h.addUser("builder@example.com", "developer", "a long enough password")
		dev, _ = h.db.UserByEmail(ctx, "builder@example.com")
	}
	f := fixes.Fix{CaseID: c.ID, VersionID: v.ID, Brings: "2.4.2", SourceRef: "git:1", AuthorID: dev.ID, Author: dev.Email, CreatedAt: h.clock.Now(),
		Payload: intake.Attachment{Name: "gateway-2.4.2.tar.zst", ContentType: "application/zstd", SHA256: strings.Repeat("ab", 32), Size: 10}}
	if err := h.db.AddFix(ctx, &f, audit.New(audit.System, h.clock.Now(), "x", "", "")); err != nil {
		h.t.Fatal(err)
	}
}

// TestReleasePlanningAndCalendarEmbargo: a release manager fills and
// approves the April train; the public calendar names its products and
// severity only from advance notice on, and its fixes only once published.
func TestReleasePlanningAndCalendarEmbargo(t *testing.T) {
	h := newHarness(t) // Tuesday 2026-03-10 09:00 UTC
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	dev := h.signIn("dev@example.com", "a long enough password")
	id, _ := h.report("Heap overflow")
	h.schedule(id)

	rels, err := h.srv.Releases.Upcoming(t.Context(), 3)
	if err != nil || len(rels) != 3 {
		t.Fatalf("upcoming: %+v %v", rels, err)
	}
	april := rels[1]
	if !april.At.Equal(time.Date(2026, 4, 14, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("second release %v, want Tuesday 14 April 17:00", april.At)
	}
	rid := url.Values{"release": {itoa(april.ID)}}
	form := func(extra ...string) url.Values {
		v := url.Values{"release": rid["release"]}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	if rec := h.do(post("/staff/releases/assign", form("case", id), dev)); rec.Code != 403 {
		t.Errorf("a developer assigning: %d", rec.Code)
	}
	if rec := h.do(post("/staff/releases/assign", form("case", id), rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", rec.Code, rec.Body)
	}
	page := h.do(get("/staff/releases", rm)).Body.String()
	if !strings.Contains(page, id) || !strings.Contains(page, "highest severity Critical") || !strings.Contains(page, "Approve this release") ||
		!strings.Contains(page, "<strong>Gateway 2.4.2</strong> over 2.4.1 · Critical · fixes "+id) {
		t.Errorf("the releases page does not show the April content and the update it plans:\n%s", page)
	}
	if !strings.Contains(page, "Not distributed to endpoints: the build gateway-2.4.2.tar.zst is missing from the blob store") {
		t.Errorf("the releases page does not warn that the build cannot be distributed:\n%s", grepLines(page, "distributed"))
	}
	// Taken out and put back: the release manager changes their mind.
	if rec := h.do(post("/staff/releases/unassign", form("case", id), rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("unassign: %d %s", rec.Code, rec.Body)
	}
	if ids, _ := h.srv.Releases.CaseIDs(t.Context(), april.ID); len(ids) != 0 {
		t.Errorf("the case is still in the release: %v", ids)
	}
	h.do(post("/staff/releases/assign", form("case", id), rm))

	rec := h.do(post("/staff/releases/advisory", url.Values{"release": rid["release"], "cases": {id}, "title": {"Heap overflow in Gateway"},
		"summary": {"A long header overflows a buffer; an attacker can run code."}, "cves": {"CVE-2026-10001"}, "workaround": {"Cap headers at 8 KB at the proxy."}}, rm))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("advisory: %d %s", rec.Code, rec.Body)
	}
	// Embargo: nothing of it is public before release time.
	embargoed := func(stage string) {
		t.Helper()
		if rec := h.do(get("/advisories/PDSA-2026-0001", "")); rec.Code != 404 || strings.Contains(rec.Body.String(), "Heap overflow") {
			t.Errorf("%s: the advisory page answers %d", stage, rec.Code)
		}
		if body := h.do(get("/advisories", "")).Body.String(); strings.Contains(body, "PDSA-2026-0001") {
			t.Errorf("%s: the advisory index lists it", stage)
		}
		for _, path := range []string{"/advisories/PDSA-2026-0001/csaf.json", "/advisories/PDSA-2026-0001/osv.json",
			"/advisories/PDSA-2026-0001/cve/CVE-2026-10001.json"} {
			if rec := h.do(get(path, "")); rec.Code != 404 || strings.Contains(rec.Body.String(), "Heap overflow") {
				t.Errorf("%s: %s answers %d", stage, path, rec.Code)
			}
		}
		if body := h.do(get("/feed.atom", "")).Body.String(); strings.Contains(body, "PDSA-2026-0001") || strings.Contains(body, "Heap overflow") {
			t.Errorf("%s: the feed carries it", stage)
		}
		if body := h.do(get("/acknowledgments", "")).Body.String(); strings.Contains(body, "Ada") {
			t.Errorf("%s: the acknowledgments page names the reporter", stage)
		}
	}
	embargoed("after writing")
	cal := func() string { return h.do(get("/calendar.ics", "")).Body.String() }
	if c := cal(); !strings.Contains(c, "BEGIN:VCALENDAR") || strings.Contains(c, "Critical") || !strings.Contains(c, "Contents are announced") {
		t.Errorf("the calendar leaks the April content before notice:\n%s", c)
	}
	h.clock.Advance(time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC).Sub(h.clock.Now())) // Friday: notice is due
	if c := cal(); !strings.Contains(c, "Highest severity: Critical") {
		t.Errorf("the calendar does not give notice three business days before:\n%s", c)
	}
	rm = h.signIn("rm@example.com", "a long enough password")
	if rec := h.do(post("/staff/releases/approve", form(), rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body)
	}
	if got, _ := h.srv.Releases.Publish(t.Context()); len(got) != 0 {
		t.Errorf("published before its time: %+v", got)
	}
	embargoed("approved, before its time")
	h.clock.Advance(time.Date(2026, 4, 14, 17, 0, 1, 0, time.UTC).Sub(h.clock.Now()))
	if got, err := h.srv.Releases.Publish(t.Context()); err != nil || len(got) != 1 {
		t.Fatalf("publish at its time: %+v %v", got, err)
	}
	if c := cal(); !strings.Contains(c, "1 fixes published") && !strings.Contains(c, "fixes published") {
		t.Errorf("the calendar after publication:\n%s", c)
	}
	if c, _ := h.db.CaseByRef(t.Context(), id); c.State != "released" {
		t.Errorf("the case after publication is %s", c.State)
	}
	h.srv.Publisher.OrgID = "6f0a2b1e-4c3d-4e5f-8a9b-0c1d2e3f4a5b"
	page = h.do(get("/advisories/pdsa-2026-0001", "")).Body.String()
	for _, want := range []string{"Heap overflow in Gateway", "CVE-2026-10001", "Critical", "Cap headers at 8 KB", "Ada @ada", "Install the security update of 14 April 2026"} {
		if !strings.Contains(page, want) {
			t.Errorf("the published advisory lacks %q", want)
		}
	}
	if body := h.do(get("/advisories", "")).Body.String(); !strings.Contains(body, "PDSA-2026-0001") {
		t.Errorf("the index does not list the published advisory")
	}
	if body := h.do(get("/acknowledgments", "")).Body.String(); !strings.Contains(body, "April 2026") || !strings.Contains(body, "Ada @ada") {
		t.Errorf("the acknowledgments page does not thank the reporter in April 2026")
	}
	for path, want := range map[string]string{
		"/advisories/PDSA-2026-0001/csaf.json":               `"csaf_version": "2.0"`,
		"/advisories/PDSA-2026-0001/osv.json":                `"fixed": "2.4.2"`,
		"/advisories/PDSA-2026-0001/cve/CVE-2026-10001.json": `"status": "unaffected"`,
		"/advisories/PDSA-2026-0001":                         "fixed in <strong>2.4.2</strong>",
		"/feed.atom":                                         "PDSA-2026-0001",
	} {
		rec := h.do(get(path, ""))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s after release: %d, want 200 with %s:\n%.400s", path, rec.Code, want, rec.Body)
		}
	}
}

// TestCSAFProvider: the provider metadata and directory list only
// published advisories, with checksums and signatures that match.
func TestCSAFProvider(t *testing.T) {
	h := newHarness(t)
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	id, _ := h.report("Heap overflow")
	h.schedule(id)
	rels, _ := h.srv.Releases.Upcoming(t.Context(), 2)
	rel := rels[1]
	rid := itoa(rel.ID)
	h.do(post("/staff/releases/assign", url.Values{"release": {rid}, "case": {id}}, rm))
	h.do(post("/staff/releases/advisory", url.Values{"release": {rid}, "cases": {id}, "title": {"Heap overflow"}, "summary": {"Overflow."}}, rm))
	h.do(post("/staff/releases/approve", url.Values{"release": {rid}}, rm))

	meta := h.do(get("/.well-known/csaf/provider-metadata.json", "")).Body.String()
	if !strings.Contains(meta, `"role": "csaf_provider"`) || !strings.Contains(meta, `/.well-known/csaf/white/`) {
		t.Errorf("provider metadata without a key:\n%s", meta)
	}
	if idx := h.do(get("/.well-known/csaf/white/index.txt", "")).Body.String(); idx != "" {
		t.Errorf("embargo: index.txt lists %q before release", idx)
	}
	if c := h.do(get("/.well-known/csaf/white/changes.csv", "")).Body.String(); c != "" {
		t.Errorf("embargo: changes.csv lists %q before release", c)
	}
	if rec := h.do(get("/.well-known/csaf/white/2026/pdsa-2026-0001.json", "")); rec.Code != 404 {
		t.Errorf("embargo: the document answers %d before release", rec.Code)
	}
	h.clock.Advance(rel.At.Sub(h.clock.Now()))
	if _, err := h.srv.Releases.Publish(t.Context()); err != nil {
		t.Fatal(err)
	}
	if idx := h.do(get("/.well-known/csaf/white/index.txt", "")).Body.String(); idx != "2026/pdsa-2026-0001.json\n" {
		t.Fatalf("index.txt after release: %q", idx)
	}
	doc := h.do(get("/.well-known/csaf/white/2026/pdsa-2026-0001.json", "")).Body.Bytes()
	sum := h.do(get("/.well-known/csaf/white/2026/pdsa-2026-0001.json.sha256", "")).Body.String()
	if !strings.Contains(string(doc), `"id": "PDSA-2026-0001"`) || !strings.HasSuffix(sum, "  pdsa-2026-0001.json\n") ||
		!regexp.MustCompile(`"fixed": \[\s*"CSAFPID-0002"`).Match(doc) || !strings.Contains(string(doc), `"name": "Example Corp Gateway 2.4.2"`) {
		t.Errorf("document or checksum: %.200s / %q", doc, sum)
	}
	want := sha256hex(doc)
	if !strings.HasPrefix(sum, want) {
		t.Errorf("the .sha256 does not match the document served")
	}
	if rec := h.do(get("/.well-known/csaf/white/2026/pdsa-2026-0001.json.asc", "")); rec.Code != 404 {
		t.Errorf("a signature without a signing key: %d", rec.Code)
	}

	// With a key that signs: a trusted provider, and signatures that verify.
	armored, err := os.ReadFile("../pgp/testdata/gnupg-rsa.key.asc")
	if err != nil {
		t.Fatal(err)
	}
	key, err := pgp.Load(armored, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Signer = key
	if meta := h.do(get("/.well-known/csaf/provider-metadata.json", "")).Body.String(); !strings.Contains(meta, `"csaf_trusted_provider"`) ||
		!strings.Contains(meta, key.Fingerprint()) {
		t.Errorf("provider metadata with a signing key:\n%s", meta)
	}
	sig := h.do(get("/.well-known/csaf/white/2026/pdsa-2026-0001.json.asc", "")).Body.Bytes()
	ring, _ := openpgp.ReadArmoredKeyRing(bytes.NewReader(key.PublicArmored()))
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(doc), bytes.NewReader(sig), nil); err != nil {
		t.Errorf("the .asc does not verify the document: %v", err)
	}
}

// TestAdvisoryRevisions: a draft changes in place; after publication a
// correction needs a line saying what changed and becomes revision 2 in
// the page, CSAF, OSV, the feed and the CSAF directory's changes.csv.
func TestAdvisoryRevisions(t *testing.T) {
	h := newHarness(t)
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	dev := h.signIn("dev@example.com", "a long enough password")
	id, _ := h.report("Heap overflow")
	h.schedule(id)
	rels, _ := h.srv.Releases.Upcoming(t.Context(), 2)
	rel := rels[0]
	rid := itoa(rel.ID)
	h.do(post("/staff/releases/assign", url.Values{"release": {rid}, "case": {id}}, rm))
	h.do(post("/staff/releases/advisory", url.Values{"release": {rid}, "cases": {id}, "title": {"Heap overflow"}, "summary": {"Overflow."}}, rm))
	edit := func(session string, v url.Values) *httptest.ResponseRecorder {
		return h.do(post("/staff/advisories/PDSA-2026-0001", v, session))
	}
	text := url.Values{"title": {"Heap overflow in the header parser"}, "summary": {"Overflow."}, "cves": {"CVE-2026-10001"}}
	if rec := edit(dev, text); rec.Code != 403 {
		t.Errorf("a developer editing an advisory: %d", rec.Code)
	}
	if rec := edit(rm, text); rec.Code != http.StatusSeeOther {
		t.Fatalf("editing the draft: %d %s", rec.Code, rec.Body)
	}
	if page := h.do(get("/staff/advisories", rm)).Body.String(); !strings.Contains(page, "PDSA-2026-0001: Heap overflow in the header parser") ||
		!strings.Contains(page, "embargoed") || !strings.Contains(page, "Save the draft") {
		t.Errorf("the staff advisories page after editing the draft:\n%s", page)
	}
	// Attacks were seen: the advisory tells users to act at once.
	c, _ := h.db.CaseByRef(t.Context(), id)
	if err := h.db.SetFlag(t.Context(), c.ID, cases.FlagSet{Flag: cases.AttacksObserved, At: h.clock.Now(), SetBy: "t"},
		audit.New(audit.System, h.clock.Now(), "x", "", "")); err != nil {
		t.Fatal(err)
	}
	h.do(post("/staff/releases/approve", url.Values{"release": {rid}}, rm))
	h.clock.Advance(rel.At.Sub(h.clock.Now()))
	if _, err := h.srv.Releases.Publish(t.Context()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/advisories/PDSA-2026-0001":           "known to be actively exploited",
		"/advisories/PDSA-2026-0001/csaf.json": `"category": "exploit_status"`,
		"/advisories/PDSA-2026-0001/osv.json":  `"known_exploited": true`,
	} {
		if body := h.do(get(path, "")).Body.String(); !strings.Contains(body, want) {
			t.Errorf("%s of an exploited vulnerability lacks %s", path, want)
		}
	}
	published := h.clock.Now()
	h.clock.Advance(48 * time.Hour)
	rm = h.signIn("rm@example.com", "a long enough password") // the earlier session has expired

	text.Set("cves", "CVE-2026-10001, CVE-2026-10002")
	rec := edit(rm, text)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "say in a line what this revision changes") {
		t.Errorf("a correction without saying what changed: %d", rec.Code)
	}
	if d, _, _ := h.srv.Releases.Public(t.Context(), "PDSA-2026-0001"); len(d.CVEs) != 1 {
		t.Errorf("a refused correction changed the advisory: %+v", d)
	}
	text.Set("change", "Added CVE-2026-10002")
	if rec := edit(rm, text); rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "revision+2+is+published") {
		t.Fatalf("the correction: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := edit(rm, text); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "nothing changed") {
		t.Errorf("a revision changing nothing: %d", rec.Code)
	}
	revised := h.clock.Now().UTC().Format(time.RFC3339)
	for path, want := range map[string][]string{
		"/advisories/PDSA-2026-0001":           {"CVE-2026-10002", "Added CVE-2026-10002", "Initial release"},
		"/advisories/PDSA-2026-0001/csaf.json": {`"version": "2"`, `"summary": "Added CVE-2026-10002"`, `"current_release_date": "` + revised, `"initial_release_date": "` + published.UTC().Format(time.RFC3339)},
		"/advisories/PDSA-2026-0001/osv.json":  {`"modified": "` + revised, "CVE-2026-10002"},
		"/feed.atom":                           {"<updated>" + revised},
		"/.well-known/csaf/white/changes.csv":  {`"2026/pdsa-2026-0001.json","` + revised},
	} {
		body := h.do(get(path, "")).Body.String()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s after the correction lacks %s:\n%.1500s", path, w, body)
			}
		}
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type memoryMail struct {
	sent []string
	down bool // the relay refuses everything
}

func (m *memoryMail) Send(_ context.Context, to, _, subject, text string) error {
	if m.down {
		return errors.New("421 relay unavailable")
	}
	m.sent = append(m.sent, to+"|"+subject+"|"+text)
	return nil
}

// TestNoticesAndBulletins: an administrator subscribes (double opt-in),
// gets the advance notice with products and severity only, then the
// bulletin; the public releases page shows both; unsubscribing stops them.
func TestNoticesAndBulletins(t *testing.T) {
	h := newHarness(t)
	box := &memoryMail{}
	h.srv.Subscriptions = release.NewSubscriptions(h.db, box, "https://security.example.com", h.clock.Now)
	h.srv.Disclosure.PublicURL = "https://security.example.com"
	if rec := h.do(post("/subscribe", url.Values{"email": {"admin@example.com"}}, "")); rec.Code != 200 || len(box.sent) != 1 {
		t.Fatalf("subscribe: %d, %d mails", rec.Code, len(box.sent))
	}
	link := regexp.MustCompile(`/subscribe/confirm/(pdn_\S+)`).FindStringSubmatch(box.sent[0])
	if rec := h.do(get("/subscribe/confirm/"+link[1], "")); !strings.Contains(rec.Body.String(), "Confirm your subscription") {
		t.Errorf("the confirmation link must only show a button (mail scanners follow links)")
	}
	if rec := h.do(post("/subscribe/confirm/"+link[1], nil, "")); !strings.Contains(rec.Body.String(), "You are subscribed") {
		t.Fatalf("confirm: %d", rec.Code)
	}

	h.addUser("rm@example.com", "release-manager", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	id, _ := h.report("Secret details of the overflow")
	h.schedule(id)
	rels, _ := h.srv.Releases.Upcoming(t.Context(), 2)
	rel := rels[1] // 14 April
	rid := itoa(rel.ID)
	h.do(post("/staff/releases/assign", url.Values{"release": {rid}, "case": {id}}, rm))
	h.do(post("/staff/releases/advisory", url.Values{"release": {rid}, "cases": {id}, "title": {"Heap overflow in Gateway"}, "summary": {"Overflow."}}, rm))
	h.do(post("/staff/releases/approve", url.Values{"release": {rid}}, rm))
	if n, _ := h.srv.SendNotifications(t.Context()); n != 0 {
		t.Errorf("a notice went out %d times before it was due", n)
	}
	h.clock.Advance(time.Date(2026, 4, 9, 18, 0, 0, 0, time.UTC).Sub(h.clock.Now()))
	if n, err := h.srv.SendNotifications(t.Context()); n != 1 || err != nil {
		t.Fatalf("notice: %d %v", n, err)
	}
	notice := box.sent[len(box.sent)-1]
	if !strings.Contains(notice, "Gateway") || !strings.Contains(notice, "Critical") || strings.Contains(notice, "overflow") ||
		!strings.Contains(notice, "/unsubscribe/pdu_") {
		t.Errorf("the notice must name products and severity only, with an unsubscribe link:\n%s", notice)
	}
	if n, _ := h.srv.SendNotifications(t.Context()); n != 0 {
		t.Errorf("the notice went out again")
	}
	if page := h.do(get("/releases", "")).Body.String(); !strings.Contains(page, "Fixes for: Gateway") || strings.Contains(page, "Heap overflow") {
		t.Errorf("the releases page during notice: want products, no details")
	}
	h.clock.Advance(rel.At.Sub(h.clock.Now()))
	h.srv.Releases.Publish(t.Context())
	// The relay is down on release day and for three days after: the
	// bulletin is late, not lost.
	box.down = true
	if n, err := h.srv.SendNotifications(t.Context()); n != 0 || err == nil {
		t.Fatalf("bulletin with the relay down: %d, %v", n, err)
	}
	h.clock.Advance(72 * time.Hour)
	box.down = false
	if n, err := h.srv.SendNotifications(t.Context()); n != 1 || err != nil {
		t.Fatalf("bulletin three days late: %d %v", n, err)
	}
	bul := box.sent[len(box.sent)-1]
	if !strings.Contains(bul, "PDSA-2026-0001") || !strings.Contains(bul, "Heap overflow in Gateway") {
		t.Errorf("bulletin:\n%s", bul)
	}
	if page := h.do(get("/releases", "")).Body.String(); !strings.Contains(page, "PDSA-2026-0001") {
		t.Errorf("the releases page does not show the bulletin")
	}
	unsub := regexp.MustCompile(`/unsubscribe/(pdu_\S+)`).FindStringSubmatch(bul)
	if rec := h.do(post("/unsubscribe/"+unsub[1], nil, "")); !strings.Contains(rec.Body.String(), "unsubscribed") {
		t.Errorf("unsubscribe: %d", rec.Code)
	}
}

// TestNoticeDaysConfigurable: with --notice-days 5 the calendar and the
// public releases page name a release's content five business days
// before it, not three, and not a moment earlier.
func TestNoticeDaysConfigurable(t *testing.T) {
	h := newHarness(t) // Tuesday 2026-03-10 09:00 UTC
	h.srv.NoticeDays = 5
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	id, _ := h.report("Heap overflow")
	h.schedule(id)
	rels, err := h.srv.Releases.Upcoming(t.Context(), 2)
	if err != nil || len(rels) != 2 {
		t.Fatalf("upcoming: %+v %v", rels, err)
	}
	if rec := h.do(post("/staff/releases/assign", url.Values{"release": {itoa(rels[1].ID)}, "case": {id}}, rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", rec.Code, rec.Body)
	}
	told := func() bool {
		c := h.do(get("/calendar.ics", "")).Body.String()
		p := h.do(get("/releases", "")).Body.String()
		if strings.Contains(c, "Highest severity: Critical") != strings.Contains(p, "Critical") {
			t.Fatalf("the calendar and the releases page disagree:\n%s\n%s", c, p)
		}
		return strings.Contains(c, "Highest severity: Critical")
	}
	if c := h.do(get("/calendar.ics", "")).Body.String(); !strings.Contains(c, "announced 5 business days before") {
		t.Errorf("the calendar does not say when contents are announced:\n%s", c)
	}
	// The release is Tuesday 14 April 17:00; five business days before
	// is Tuesday 7 April 17:00.
	h.clock.Advance(time.Date(2026, 4, 7, 16, 59, 0, 0, time.UTC).Sub(h.clock.Now()))
	if told() {
		t.Errorf("content announced before 7 April 17:00")
	}
	h.clock.Advance(2 * time.Minute)
	if !told() {
		t.Errorf("content not announced five business days before the release")
	}
}
