package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/patchday/patchday/internal/payload"
)

// build makes the fix: the corpus's tree of the version it brings,
// packed as a patchday payload that needs a restart.
func (d *demo) build(ctx context.Context, k *kase) error {
	dir := filepath.Join(d.data, "builds")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	k.payload = filepath.Join(dir, productName+"_"+strings.ReplaceAll(k.brings, "~", "_")+".tar.zst")
	f, err := os.Create(k.payload)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := payload.Build(ctx, k.tree, payload.Meta{Product: productName, Version: k.brings, Restart: restartNeed}, io.MultiWriter(f, h)); err != nil {
		f.Close()
		return fmt.Errorf("payload build of %s: %w", k.tree, err)
	}
	k.payloadSHA = hex.EncodeToString(h.Sum(nil))
	return f.Close()
}

var sectionRE = regexp.MustCompile(`(?s)<section class="release card wide" id="release-(\d+)">\s*<h2>([^<]*)</h2>(.*?)</section>`)

// release has the release manager plan an out-of-band release at the
// earliest time the planning form takes (whole minutes, in the future),
// not before notBefore, put the case in it, write its advisory and
// approve it — on the staff pages, signed in.
func (d *demo) release(ctx context.Context, k *kase, notBefore time.Time) error {
	rm := d.staff["release-manager"]
	if err := d.signIn(ctx, rm); err != nil {
		return err
	}
	// The form takes minutes; a few seconds' margin so the time is still
	// to come when the server reads it.
	at := time.Now().UTC().Add(5 * time.Second).Truncate(time.Minute).Add(time.Minute)
	if at.Before(notBefore) {
		at = notBefore
	}
	p, err := rm.web.submit(ctx, "/staff/releases/out-of-band", map[string][]string{
		"at": {at.Format("2006-01-02T15:04")}, "justification": {k.cve.ID + " (" + k.ref + ") is rated " + or(k.rating, "severe") + " and the reporter holds a proof of concept: it cannot wait for the monthly train."}})
	if err != nil {
		return err
	}
	if !strings.Contains(p.Location, "done=") {
		return fmt.Errorf("the out-of-band release for %s was refused: %s", at.Format("15:04 UTC"), p.problems())
	}
	p, err = rm.web.get(ctx, "/staff/releases")
	if err != nil {
		return err
	}
	var id int64
	for _, m := range sectionRE.FindAllStringSubmatch(p.Body, -1) {
		var n int64
		fmt.Sscan(m[1], &n)
		if strings.HasPrefix(text(m[2]), at.Format("Monday 2 January 2006, 15:04")) && strings.Contains(m[2], "out of band") && !d.used[n] && n > id {
			id = n
		}
	}
	if id == 0 {
		return fmt.Errorf("the releases page does not show the out-of-band release of %s", at.Format("15:04 UTC"))
	}
	d.used[id] = true
	rel := fmt.Sprint(id)
	for _, f := range []struct {
		path string
		form map[string][]string
	}{
		{"/staff/releases/assign", map[string][]string{"release": {rel}, "case": {k.ref}}},
		{"/staff/releases/advisory", map[string][]string{"release": {rel}, "cases": {k.ref}, "title": {k.cve.Title + " in " + productName},
			"summary": {"A flaw in " + productName + " " + k.affects + " (" + k.cve.ID + ", reported as " + k.ref + ") is fixed in " + k.brings + ". Install the update; it restarts the computer."},
			"cves":    {k.cve.ID}}},
	} {
		p, err := rm.web.submit(ctx, f.path, f.form)
		if err != nil {
			return err
		}
		if !strings.Contains(p.Location, "done=") {
			return fmt.Errorf("POST %s for %s was refused: %s", f.path, k.ref, p.problems())
		}
	}
	// What the page says the release hands the catalog, before approving.
	p, err = rm.web.get(ctx, "/staff/releases")
	if err != nil {
		return err
	}
	section := ""
	for _, m := range sectionRE.FindAllStringSubmatch(p.Body, -1) {
		if m[1] == rel {
			section = m[3]
		}
	}
	updates := text(firstMatch(section, `(?s)<ul class="updates">(.*?)</ul>`))
	if problem := text(firstMatch(section, `(?s)<p class="error">(.*?)</p>`)); problem != "" || updates == "" {
		return fmt.Errorf("the release of %s cannot hand the catalog its update: %s", k.ref, or(problem, "the page lists no update"))
	}
	k.advisory = firstMatch(section, `(PDSA-\d{4}-\d+)`)
	p, err = rm.web.submit(ctx, "/staff/releases/approve", map[string][]string{"release": {rel}})
	if err != nil {
		return err
	}
	if !strings.Contains(p.Location, "done=") {
		return fmt.Errorf("approving the release of %s was refused: %s", k.ref, p.problems())
	}
	k.release, k.at = id, at
	d.p.step("%s planned an out-of-band release for %s (the form takes whole minutes, still to come), added %s, wrote %s (%s), approved it",
		rm.email, at.Format("15:04 UTC"), k.ref, or(k.advisory, "an advisory"), k.cve.ID)
	d.p.note("it hands the catalog: %s", updates)
	return nil
}

// fleetUpdate is an update as /api/v1/fleet/updates lists it.
type fleetUpdate struct {
	ID        int64    `json:"id"`
	Product   string   `json:"product"`
	Version   string   `json:"version"`
	AppliesTo []string `json:"applies_to"`
	Restart   string   `json:"restart"`
	Size      int64    `json:"size"`
	Deltas    int      `json:"deltas"`
}

// publication waits for the server's own job to publish both releases
// (the advisories leave embargo) and the catalog to sign the update with
// its delta.
func (d *demo) publication(ctx context.Context) error {
	anon := newBrowser(d.srv.URL)
	for _, k := range []*kase{d.mailed, d.form} {
		// Before its time the advisory is embargoed: not found.
		embargo := ""
		if time.Now().Before(k.at.Add(-time.Second)) {
			if p, err := anon.get(ctx, "/advisories/"+k.advisory); err != nil {
				return err
			} else if p.Status == 200 {
				return fmt.Errorf("%s is public before its release", k.advisory)
			} else {
				embargo = fmt.Sprintf(" (before: HTTP %d, embargoed)", p.Status)
			}
		}
		err := d.p.wait(ctx, "publication of "+k.advisory, k.at.Sub(time.Now())+2*time.Minute, 250*time.Millisecond, func() (bool, string, error) {
			p, err := anon.get(ctx, "/advisories/"+k.advisory)
			if err != nil {
				return false, "", err
			}
			if p.Status == 200 {
				return true, "", nil
			}
			if left := time.Until(k.at); left > 0 {
				return false, fmt.Sprintf("release of %s due at %s: %s embargoed for %ds more", k.ref, k.at.Format("15:04:05 UTC"), k.advisory, int(left.Seconds()+0.99)), nil
			}
			return false, fmt.Sprintf("release of %s due since %s: waiting for the publication job", k.ref, k.at.Format("15:04:05")), nil
		})
		if err != nil {
			return err
		}
		cd, err := d.client(d.staff["triager"]).Case(ctx, k.ref)
		if err != nil {
			return err
		}
		d.p.step("the server's job published the release of %s: %s public %.1fs after its time at %s/advisories/%s%s; %s is %s",
			k.ref, k.advisory, time.Since(k.at).Seconds(), d.srv.URL, k.advisory, embargo, k.ref, cd.State)
	}
	d.res.Advisory = d.form.advisory

	fa := d.staff["fleet-admin"]
	err := d.p.wait(ctx, "the catalog", 3*time.Minute, 250*time.Millisecond, func() (bool, string, error) {
		var us []fleetUpdate
		if err := api(ctx, d.srv.URL, fa.token, "GET", "/api/v1/fleet/updates", nil, &us); err != nil {
			return false, "", err
		}
		for _, u := range us {
			if u.Product == productName && u.Version == d.c.cur {
				if u.Deltas > 0 {
					d.update = u
					return true, "", nil
				}
				return false, "the catalog lists " + productName + " " + u.Version + "; waiting for its delta", nil
			}
		}
		return false, "waiting for the catalog to sign " + productName + " " + d.c.cur, nil
	})
	if err != nil {
		return err
	}
	d.res.Update = d.update.ID
	// What agents see: the signed targets.
	b, err := anon.getBytes(ctx, "/tuf/targets.json")
	if err != nil {
		return err
	}
	var targets struct {
		Signed struct {
			Version int `json:"version"`
			Targets map[string]struct {
				Length int64 `json:"length"`
				Custom struct {
					Product, Version, Kind, From string
				} `json:"custom"`
			} `json:"targets"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &targets); err != nil {
		return fmt.Errorf("/tuf/targets.json: %w", err)
	}
	var delta string
	for path, t := range targets.Signed.Targets {
		if t.Custom.Product == productName && t.Custom.Version == d.c.cur && t.Custom.Kind == "delta" {
			delta = fmt.Sprintf("delta from %s %s (%s, %.0f%% of the payload)", t.Custom.From, size(t.Length), path, 100*float64(t.Length)/float64(d.update.Size))
		}
	}
	if delta == "" {
		return fmt.Errorf("the signed targets (version %d) have no delta to %s %s", targets.Signed.Version, productName, d.c.cur)
	}
	d.p.step("the catalog signed %s %s (targets v%d): payload %s, %s; over %s; restart: %s",
		productName, d.c.cur, targets.Signed.Version, size(d.update.Size), delta, strings.Join(d.update.AppliesTo, ", "), d.update.Restart)
	return nil
}

// summary says where to look.
func (d *demo) summary() {
	u := d.srv.URL
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s The whole loop ran. Look at it:\n", d.p.stamp())
	fmt.Fprintf(&b, "  server          %s   (data: %s)\n", u, d.data)
	fmt.Fprintf(&b, "  admin           %s, one-time password %s (choose your own at the first sign-in)\n", d.srv.AdminEmail, d.srv.AdminPassword)
	fmt.Fprintf(&b, "  staff           %s … all with password %s\n", strings.Join(emails(), ", "), d.password)
	fmt.Fprintf(&b, "  cases           %s/staff/cases       (%s by web form, %s by e-mail)\n", u, d.form.ref, d.mailed.ref)
	fmt.Fprintf(&b, "  releases        %s/staff/releases\n", u)
	fmt.Fprintf(&b, "  advisories      %s/advisories        (%s, %s)\n", u, d.mailed.advisory, d.form.advisory)
	fmt.Fprintf(&b, "  fleet           %s/fleet/            (3 computers, group demo)\n", u)
	fmt.Fprintf(&b, "  researchers     %s\n                  %s\n", d.form.link, d.mailed.link)
	d.p.plain(b.String())
}

func emails() []string {
	var out []string
	for _, r := range roster {
		out = append(out, r.email)
	}
	return out
}

// sendMail has one SMTP conversation with the intake listener, as a
// researcher's mail server does.
func sendMail(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("mail.example.net"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// firstMatch returns the first group of the first match of pattern in s.
func firstMatch(s, pattern string) string {
	if m := regexp.MustCompile(pattern).FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }
