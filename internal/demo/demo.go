// Package demo runs patchday's whole loop on one machine, through the
// same code paths as production: a real `patchday serve` on the embedded
// SQLite, staff accounts made with the operator CLI, a researcher's report
// through the web form and another by SMTP, the case walked through
// triage, fixing, independent testing and the researcher's verification,
// an out-of-band release published by the server's own job into the
// signed catalog, and real agents installing it in a maintenance window.
// Nothing is written to the database behind the server's back: every
// step is a request the rules may refuse, and a refusal stops the demo
// with what the server answered.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchday/patchday/client"
	"github.com/patchday/patchday/internal/serveproc"
)

// RunFunc runs one patchday command (without the program name), as
// cli.Run does: the demo starts the server and runs the operator's
// commands through it. (Package cli imports this one, so it hands its
// Run in rather than this package importing it.)
type RunFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

// Options say where the demo runs.
type Options struct {
	// Data is the server's data directory; it must be new or empty.
	// Empty means a new temporary directory.
	Data string
	// HTTP is the address to serve on; if it is taken, a free port on the
	// same host is used instead.
	HTTP string
	// Corpus is the corpus of real releases (../shared/testdata/releases).
	Corpus string
	// Out receives the demo's steps.
	Out io.Writer
	// Log receives the server's and the agents' logs; nil means the file
	// demo.log in Data.
	Log io.Writer
	// Exit ends the demo after the summary instead of serving until ctx
	// ends.
	Exit bool
	// Run runs patchday commands (cli.Run).
	Run RunFunc
}

// Result is what the demo did, for tests.
type Result struct {
	URL, Data                 string
	AdminEmail, AdminPassword string
	Case, BaselineCase        string // the form's case and the mailed one
	Advisory                  string
	Update                    int64 // the fleet's update id of the fix
	Agents                    []AgentResult
	// Compliance is the compliance view's word on each computer: the
	// update's state and the restarts it reported.
	Compliance map[string]ComputerState
}

// AgentResult is what one agent did, from its own log and traffic.
type AgentResult struct {
	Name     string
	Route    string // delta or full
	Fetched  int64  // bytes of payload or delta downloaded
	Full     int64  // bytes of the full payload
	Restarts int    // restart commands it ran
	Took     time.Duration
}

// ComputerState is one computer's line in the compliance view.
type ComputerState struct {
	State    string
	Restarts int
}

// stepError says which step failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return fmt.Sprintf("step %q failed: %v", e.step, e.err) }
func (e *stepError) Unwrap() error { return e.err }

// demo is one run.
type demo struct {
	o        Options
	p        *printer
	c        *corpus
	srv      *serveproc.Server
	box      *mailbox
	data     string
	log      io.Writer
	password string // the demo staff's password
	staff    map[string]*person
	res      Result
	used     map[int64]bool // releases already filled
	// The two cases: the form's, and the mailed one whose fix is the
	// version the fleet runs.
	form, mailed *kase
	agents       []*agentRun
	update       fleetUpdate
}

// person is a staff member: their account, API token and browser.
type person struct {
	role, email, token string
	web                *browser
	signedIn           bool
}

// The staff, by role.
var roster = []struct{ role, email, what string }{
	{"triager", "tri@example.com", "triager"},
	{"developer", "dev@example.com", "developer"},
	{"tester", "qa@example.com", "tester (not the developer: the independent test gate)"},
	{"release-manager", "rm@example.com", "release manager"},
	{"fleet-admin", "fleet@example.com", "fleet administrator"},
}

const securityAddress = "security@example.com"

// Run runs the demo. Unless o.Exit, it keeps the server running after
// the summary until ctx ends.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Run == nil {
		return nil, errors.New("demo: Options.Run is required")
	}
	d := &demo{o: o, p: newPrinter(o.Out), staff: map[string]*person{}, used: map[int64]bool{}}
	defer func() { d.box.close() }()
	defer func() {
		if c, ok := d.log.(io.Closer); ok && d.o.Log == nil {
			c.Close()
		}
	}()
	err := d.run(ctx)
	if err != nil {
		if d.srv != nil {
			d.stopAll()
		}
		if d.data != "" {
			err = fmt.Errorf("%w\n(the data directory %s and its log demo.log are kept for a look)", err, d.data)
		}
		return &d.res, err
	}
	return &d.res, nil
}

func (d *demo) run(ctx context.Context) error {
	steps := []struct {
		name string
		do   func(context.Context) error
	}{
		{"1. start the server", d.start},
		{"2. staff accounts and the product", d.setup},
		{"3. researchers' reports", d.reports},
		{"4a. the baseline release", d.baseline},
		{"4b. the case, from triage to release", d.walkCase},
		{"4c. publication", d.publication},
		{"5. the fleet installs the update", d.fleet},
	}
	for _, s := range steps {
		if err := s.do(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted during step %q", s.name)
			}
			return &stepError{s.name, err}
		}
	}
	d.summary()
	if d.o.Exit {
		return d.stopAll()
	}
	d.p.plain("\nServing until interrupted (Ctrl-C).\n")
	<-ctx.Done()
	d.p.plain("\nStopping the agents and the server…\n")
	return d.stopAll()
}

// start checks the corpus and starts `patchday serve` on a new data
// directory, with the SMTP intake on loopback and outbound mail through
// the researchers' mail server.
func (d *demo) start(ctx context.Context) error {
	corpusDir := d.o.Corpus
	if corpusDir == "" {
		corpusDir = filepath.Join("..", "shared", "testdata", "releases")
	}
	c, err := openCorpus(corpusDir)
	if err != nil {
		return err
	}
	d.c = c
	d.p.step("corpus: %s %s (the fleet runs it) and %s (its security update), from %s", productName, c.old, c.cur, c.dir)
	if d.data = d.o.Data; d.data == "" {
		if d.data, err = os.MkdirTemp("", "patchday-demo-"); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(d.data, 0o700); err != nil {
			return err
		}
		if entries, err := os.ReadDir(d.data); err != nil {
			return err
		} else if len(entries) > 0 {
			return fmt.Errorf("the data directory %s is not empty: the demo starts from nothing; give a new directory with --data, or none for a temporary one", d.data)
		}
	}
	if d.log = d.o.Log; d.log == nil {
		f, err := os.OpenFile(filepath.Join(d.data, "demo.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		d.log = f // closed when the server has stopped
	}
	httpAddr := d.o.HTTP
	if httpAddr == "" {
		httpAddr = "127.0.0.1:8080"
	}
	addr, busy, err := freeAddr(httpAddr)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	if busy {
		d.p.step("%s is taken; serving on %s instead", httpAddr, addr)
	}
	if d.box, err = startMailbox(); err != nil {
		return fmt.Errorf("the researchers' mail server: %w", err)
	}
	args := []string{"serve", "--data", d.data, "--http", addr, "--log-level", "info",
		// Reports by e-mail, on loopback.
		"--smtp", "127.0.0.1:0", "--security-address", securityAddress, "--smtp-domain", "localhost",
		// Mail to researchers (their private links) through their mail server.
		"--smtp-relay", d.box.Addr, "--public-url", "http://" + addr,
		// Time-driven jobs every second: a release publishes within a
		// second of its time, and the catalog is signed right after.
		"--sweep-interval", "1s"}
	srv, err := serveproc.Start(ctx, d.o.Run, args, d.log, time.Minute)
	if err != nil {
		return err
	}
	d.srv = srv
	if srv.AdminPassword == "" {
		return errors.New("the server printed no one-time admin password: not a first start")
	}
	if srv.SMTP == "" {
		return errors.New("the server did not say where it takes e-mail")
	}
	d.res.URL, d.res.Data, d.res.AdminEmail, d.res.AdminPassword = srv.URL, d.data, srv.AdminEmail, srv.AdminPassword
	d.p.step("server up: %s (SQLite in %s)", srv.URL, d.data)
	d.p.note("first admin: %s, one-time password %s", srv.AdminEmail, srv.AdminPassword)
	d.p.note("reports by e-mail to %s on smtp://%s; mail to researchers goes out via smtp://%s", securityAddress, srv.SMTP, d.box.Addr)
	d.p.note("logs: %s", filepath.Join(d.data, "demo.log"))
	return nil
}

// cli runs a patchday command and returns its standard output.
func (d *demo) cli(ctx context.Context, stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	if err := d.o.Run(ctx, args, strings.NewReader(stdin), &out, d.log); err != nil {
		shown := args[:min(len(args), 3)]
		return out.String(), fmt.Errorf("patchday %s: %w", strings.Join(shown, " "), err)
	}
	return out.String(), nil
}

// asStaff runs an API command of the CLI as a staff member.
func (d *demo) asStaff(ctx context.Context, who *person, args ...string) (string, error) {
	return d.cli(ctx, "", append(args, "--server", d.srv.URL, "--token", who.token, "--log-level", "warn")...)
}

// setup makes the staff accounts and tokens and the product, with the
// operator's CLI on the server's data directory.
func (d *demo) setup(ctx context.Context) error {
	pw := make([]byte, 9)
	rand.Read(pw)
	d.password = "demo-" + hex.EncodeToString(pw)
	for _, r := range roster {
		if _, err := d.cli(ctx, d.password+"\n", "user", "add", "--email", r.email, "--role", r.role, "--password-stdin", "--data", d.data, "--log-level", "warn"); err != nil {
			return err
		}
		tok, err := d.cli(ctx, "", "token", "create", "--email", r.email, "--name", "demo", "--data", d.data, "--log-level", "warn")
		if err != nil {
			return err
		}
		d.staff[r.role] = &person{role: r.role, email: r.email, token: strings.TrimSpace(tok), web: newBrowser(d.srv.URL)}
		d.p.step("patchday user add %-17s --role %-16s → %s, with an API token", r.email, r.role, r.what)
	}
	if _, err := d.cli(ctx, "", "product", "add", productName, "--vendor", productVendor, "--scheme", "debian", "--data", d.data, "--log-level", "warn"); err != nil {
		return err
	}
	for _, v := range []string{d.c.prev, d.c.old} {
		if _, err := d.cli(ctx, "", "product", "version", "add", productName, v, "--data", d.data, "--log-level", "warn"); err != nil {
			return err
		}
	}
	d.p.step("patchday product add %s --scheme debian; versions %s and %s", productName, d.c.prev, d.c.old)
	return nil
}

// kase is a case the demo walks, and what its fix is.
type kase struct {
	ref, link, researcher string
	title                 string
	cve                   cve
	affects, brings, tree string
	cvss, cwe             string
	rating                string // as triage scored it, e.g. "9.8 Critical"
	payload               string // the built fix
	payloadSHA            string
	release               int64
	advisory              string
	at                    time.Time
}

// reports files the two researchers' reports: Ada's through the web
// form, Grace's by e-mail to the SMTP listener.
func (d *demo) reports(ctx context.Context) error {
	d.form = &kase{researcher: "ada@example.org", title: d.c.newCVE.Title, cve: d.c.newCVE, affects: d.c.old, brings: d.c.cur, tree: d.c.newDir,
		cvss: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", cwe: "CWE-787"}
	d.mailed = &kase{researcher: "grace@example.net", title: d.c.oldCVE.Title, cve: d.c.oldCVE, affects: d.c.prev, brings: d.c.old, tree: d.c.oldDir,
		cvss: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", cwe: "CWE-122"}

	// The form, as a browser fills it in.
	ada := newBrowser(d.srv.URL)
	p, err := ada.get(ctx, "/report")
	if err != nil {
		return err
	}
	if p.Status != 200 || !strings.Contains(p.Body, productName) {
		return fmt.Errorf("GET /report: %s", p.problems())
	}
	poc := []byte("#!/bin/sh\n# Sends the crafted record that makes " + productName + " " + d.c.old + " write past its buffer.\nopenssl s_client -dtls1_2 -connect victim:4433 < crafted.bin\n")
	p, err = ada.submitMultipart(ctx, "/report", [][2]string{
		{"product", productName}, {"version", d.c.old},
		{"title", d.form.title + " (" + productName + " " + d.c.old + ")"},
		{"description", "A crafted DTLS 1.2 record makes the library read and write past the end of its retransmission buffer."},
		{"impact", "Remote code execution in any service that accepts DTLS connections."},
		{"steps", "1. Start a DTLS server linked against " + productName + " " + d.c.old + ".\n2. Run poc.sh against it.\n3. The server crashes in the record layer."},
		{"cvss_vector", d.form.cvss}, {"cwe", d.form.cwe}, {"email", d.form.researcher}, {"credit_name", "Ada Lovelace"},
	}, []file{{field: "attachments", name: "poc.sh", contentType: "text/x-sh", content: poc}})
	if err != nil {
		return err
	}
	if p.Status != 201 {
		return fmt.Errorf("POST /report: %s", p.problems())
	}
	d.form.ref = text(firstMatch(p.Body, `id="case-ref">([^<]+)<`))
	d.form.link = firstMatch(p.Body, `id="case-link" href="([^"]+)"`)
	if d.form.ref == "" || !strings.Contains(d.form.link, "/r/") {
		return fmt.Errorf("the report's answer has no case id and private link:\n%s", p.Body)
	}
	d.res.Case = d.form.ref
	d.p.step("POST /report (the web form, with poc.sh) → %s %q; private link shown once: %s", d.form.ref, d.form.title, d.form.link)

	// The mail, over a real SMTP conversation.
	msg := "From: Grace Hopper <" + d.mailed.researcher + ">\r\n" +
		"To: " + securityAddress + "\r\n" +
		"Subject: " + d.mailed.title + " in " + productName + " " + d.c.prev + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + hex.EncodeToString(randomBytes()) + "@example.net>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,\r\n\r\nconverting a crafted ASN.1 BMPString to UTF-8 overflows a heap buffer in " + productName + " " + d.c.prev + ".\r\n" +
		"Steps: openssl asn1parse -genconf crafted.cnf\r\n\r\nGrace\r\n"
	if err := sendMail(d.srv.SMTP, d.mailed.researcher, securityAddress, msg); err != nil {
		return fmt.Errorf("SMTP to %s: %w", d.srv.SMTP, err)
	}
	d.p.step("SMTP to %s: MAIL FROM %s, RCPT TO %s, DATA … 250 accepted", d.srv.SMTP, d.mailed.researcher, securityAddress)
	// The researcher learns the case id and private link from the
	// acknowledgement the server mails back.
	var ack mailMsg
	err = d.p.wait(ctx, "waiting for the acknowledgement mail to "+d.mailed.researcher, 30*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		for _, m := range d.box.to(d.mailed.researcher) {
			if strings.Contains(m.Subject, "We received your report") {
				ack = m
				return true, "", nil
			}
		}
		return false, "", nil
	})
	if err != nil {
		return err
	}
	d.mailed.ref = firstMatch(ack.Subject, `\[(PD-\d{4}-\d+)\]`)
	d.mailed.link = firstMatch(ack.Text, `(https?://\S+/r/\S+)`)
	if d.mailed.ref == "" || d.mailed.link == "" {
		return fmt.Errorf("the acknowledgement has no case id and link: %q\n%s", ack.Subject, ack.Text)
	}
	d.res.BaselineCase = d.mailed.ref
	d.p.step("%s's mailbox: %q with the private link %s", d.mailed.researcher, ack.Subject, d.mailed.link)
	return nil
}

func randomBytes() []byte {
	b := make([]byte, 8)
	rand.Read(b)
	return b
}

// baseline ships the version the fleet runs, the update that fixed the
// mailed report, through the same loop: the catalog builds deltas only
// from versions it holds, so the fix's delta needs this one in it first.
func (d *demo) baseline(ctx context.Context) error {
	d.p.step("baseline: the fleet runs %s %s; the catalog builds deltas only from versions it holds, so %s — the update to %s — goes through the loop first",
		productName, d.c.old, d.mailed.ref, d.c.old)
	if err := d.walk(ctx, d.mailed); err != nil {
		return err
	}
	return d.release(ctx, d.mailed, time.Time{})
}

// walkCase walks the form's case from triage to its release.
func (d *demo) walkCase(ctx context.Context) error {
	d.p.step("%s: the report through the web form, against %s %s — the fleet's version", d.form.ref, productName, d.c.old)
	if err := d.walk(ctx, d.form); err != nil {
		return err
	}
	// Not before the baseline's release: its update is the one this
	// supersedes and the delta's base.
	return d.release(ctx, d.form, d.mailed.at)
}

// walk takes a case from received to scheduled, each move by the person
// the rules name.
func (d *demo) walk(ctx context.Context, k *kase) error {
	tri, dev, qa := d.staff["triager"], d.staff["developer"], d.staff["tester"]
	if err := d.move(ctx, tri, k, "triage"); err != nil {
		return err
	}
	// The triage form on the staff page, signed in.
	if err := d.signIn(ctx, tri); err != nil {
		return err
	}
	p, err := tri.web.get(ctx, "/staff/cases/"+k.ref)
	if err != nil {
		return err
	}
	if p.Status != 200 {
		return fmt.Errorf("GET /staff/cases/%s: %s", k.ref, p.problems())
	}
	affected := firstMatch(p.Body, `name="affected" value="(\d+)"[^>]*> `+regexpQuote(k.affects)+`</label>`)
	assignee := firstMatch(p.Body, `<option value="(\d+)"[^>]*>`+regexpQuote(dev.email)+`</option>`)
	if affected == "" || assignee == "" {
		return fmt.Errorf("the triage form of %s offers no version %s or no assignee %s", k.ref, k.affects, dev.email)
	}
	p, err = tri.web.submit(ctx, "/staff/cases/"+k.ref+"/triage", map[string][]string{
		"cvss_vector": {k.cvss}, "cwe": {k.cwe}, "affected": {affected}, "assignee": {assignee}})
	if err != nil {
		return err
	}
	if !strings.Contains(p.Location, "triaged=1") {
		return fmt.Errorf("the triage form of %s was refused: %s", k.ref, p.problems())
	}
	if err := d.move(ctx, tri, k, "accepted"); err != nil {
		return err
	}
	k.rating = text(firstMatch(p.Body, `(?s)(\d+\.\d (?:None|Low|Medium|High|Critical))`))
	d.p.step("triaged %s on its staff page: %s, %s, affects %s %s, assigned to %s; accepted", k.ref, or(k.rating, "rated"), k.cwe, productName, k.affects, dev.email)

	// The developer builds the fix: the newer tree as a payload.
	if err := d.move(ctx, dev, k, "fixing"); err != nil {
		return err
	}
	if err := d.build(ctx, k); err != nil {
		return err
	}
	// The version's id, as the case page's upload form offers it.
	if err := d.signIn(ctx, dev); err != nil {
		return err
	}
	if p, err = dev.web.get(ctx, "/staff/cases/"+k.ref); err != nil {
		return err
	}
	version := firstMatch(p.Body, `<option value="(\d+)">(?:[^<]* )?`+regexpQuote(k.affects)+`</option>`)
	if version == "" {
		return fmt.Errorf("the upload form of %s offers no version %s: %s", k.ref, k.affects, p.problems())
	}
	out, err := d.asStaff(ctx, dev, "fix", "upload", k.ref, k.payload, "--version", version,
		"--brings", k.brings, "--source-ref", "debian:openssl/"+k.brings, "--notes", "Fixes "+k.cve.ID+" ("+k.cve.Title+").")
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	fixID := firstMatch(out, `fix (\d+) uploaded`)
	if err := d.move(ctx, dev, k, "testing"); err != nil {
		return err
	}
	fi, _ := os.Stat(k.payload)
	d.p.step("%s: %s built %s %s (restart: %s, %s) and ran `patchday fix upload` → fix %s; testing", k.ref, dev.email, productName, k.brings, restartNeed, size(fi.Size()), fixID)

	// The tester — not the developer — records a JUnit run, then passes
	// the gate. The developer could not: the rules refuse the author.
	_, err = d.client(dev).MoveCase(ctx, k.ref, client.Move{To: "verifying"})
	var refusal *client.Error
	if !errors.As(err, &refusal) || refusal.Status != 403 {
		return fmt.Errorf("the developer's own move of %s past the test gate was not refused as forbidden: %v", k.ref, err)
	}
	why := refusal.Message
	if _, after, ok := strings.Cut(why, "refused: "); ok {
		why, _, _ = strings.Cut(after, "; you may")
	}
	junit := filepath.Join(d.data, "builds", k.ref+"-junit.xml")
	name := strings.ReplaceAll(strings.ToLower(k.cve.ID), "-", "_")
	report := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="%s-%s" tests="4" failures="0" errors="0" skipped="0">
<testcase classname="regression" name="%s_poc_rejected" time="0.41"/>
<testcase classname="tls" name="handshake_dtls12" time="1.02"/>
<testcase classname="asn1" name="multibyte_roundtrip" time="0.33"/>
<testcase classname="abi" name="symbols_unchanged_since_%s" time="0.07"/>
</testsuite></testsuites>
`, productName, k.brings, name, strings.ReplaceAll(k.affects, "~", "_"))
	if err := os.WriteFile(junit, []byte(report), 0o600); err != nil {
		return err
	}
	out, err = d.asStaff(ctx, qa, "fix", "test-run", fixID, junit)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	if err := d.move(ctx, qa, k, "verifying"); err != nil {
		return err
	}
	d.p.step("%s: %s ran `patchday fix test-run %s` → %s; verifying", k.ref, qa.email, fixID, strings.TrimSpace(out))
	d.p.note("(the developer's own try was refused: %q)", why)

	// The researcher is told by mail, downloads the fix from their
	// private page, checks it, and says it is fixed.
	var told mailMsg
	err = d.p.wait(ctx, "waiting for the server's mail to "+k.researcher, 30*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		for _, m := range d.box.to(k.researcher) {
			if strings.Contains(m.Text, "ready for you to verify") {
				told = m
				return true, "", nil
			}
		}
		return false, "", nil
	})
	if err != nil {
		return err
	}
	r := newBrowser(d.srv.URL)
	p, err = r.get(ctx, k.link)
	if err != nil {
		return err
	}
	if p.Status != 200 {
		return fmt.Errorf("the researcher's private page: %s", p.problems())
	}
	dl := firstMatch(p.Body, `href="(/r/[^"]+/fixes/[0-9a-f]{64})"`)
	if dl == "" {
		return fmt.Errorf("the researcher's private page offers no fix to verify")
	}
	b, err := r.getBytes(ctx, dl)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != k.payloadSHA {
		return fmt.Errorf("the fix the researcher downloaded is not the build uploaded")
	}
	secret := firstMatch(k.link, `/r/([^/?#]+)`)
	p, err = r.submitMultipart(ctx, "/r/"+secret+"/verdict", [][2]string{{"verdict", "fixed"}, {"comment", "The PoC no longer reproduces on " + k.brings + "."}}, nil)
	if err != nil {
		return err
	}
	if !strings.Contains(p.Location, "verdict=fixed") {
		return fmt.Errorf("the researcher's verdict was refused: %s", p.problems())
	}
	cd, err := d.client(tri).Case(ctx, k.ref)
	if err != nil {
		return err
	}
	if cd.State != "scheduled" {
		return fmt.Errorf("after the researcher's verdict %s is %s, not scheduled", k.ref, cd.State)
	}
	d.p.step("%s: %s got the mail %q, downloaded the fix from the private page (%s, its sha256 is the build's) and answered \"fixed\" → scheduled",
		k.ref, k.researcher, told.Subject, size(int64(len(b))))
	return nil
}

// signIn signs a staff member in on the web pages, once.
func (d *demo) signIn(ctx context.Context, p *person) error {
	if p.signedIn {
		return nil
	}
	if err := p.web.signIn(ctx, p.email, d.password); err != nil {
		return err
	}
	p.signedIn = true
	return nil
}

// or returns s, or def if s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (d *demo) client(p *person) *client.Client { return client.New(d.srv.URL, p.token) }

// move moves a case over the API as who.
func (d *demo) move(ctx context.Context, who *person, k *kase, to string) error {
	if _, err := d.client(who).MoveCase(ctx, k.ref, client.Move{To: to}); err != nil {
		return fmt.Errorf("%s (%s) moving %s to %s: the server answered: %w", who.email, who.role, k.ref, to, err)
	}
	return nil
}
