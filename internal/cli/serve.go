package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/advisory"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/config"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/mail"
	"github.com/patchday/patchday/internal/mirror"
	"github.com/patchday/patchday/internal/pgp"
	"github.com/patchday/patchday/internal/postmortem"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store"
	"github.com/patchday/patchday/internal/tufrepo"
	"github.com/patchday/patchday/internal/version"
	"github.com/patchday/patchday/internal/web"
)

func serveCmd(e *env) *cobra.Command {
	var c config.Serve
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the patchday server",
		Long: `Run the patchday server: staff pages, the JSON API and the operational
endpoints (/healthz, /readyz, /metrics) on one HTTP listener.

By default everything lives in --data: an embedded SQLite database and the
content-addressed blobs. With --db postgres://… the database is PostgreSQL
instead, and several 'serve' processes may share it.

On the first start, when there is no staff account, an admin account is
created and its one-time password printed here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.Validate(); err != nil {
				return usageError{err}
			}
			return serve(cmd.Context(), e, c)
		},
	}
	c.Flags(cmd.Flags())
	return cmd
}

func serve(ctx context.Context, e *env, c config.Serve) error {
	log := e.logger()
	// The key first: a server that cannot read its mail should not start.
	var key *pgp.Key
	if c.PGPKey != "" {
		var err error
		if key, err = loadPGP(c.PGPKey, c.PGPPassphrase); err != nil {
			return err
		}
		log.Info("OpenPGP key loaded", "fingerprint", key.Fingerprint(), "file", c.PGPKey)
	}
	st, err := openStore(ctx, c.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := blob.Open(filepath.Join(c.Data, "blobs"))
	if err != nil {
		return err
	}
	svc := staff.NewService(st, staff.NewHasher(staff.DefaultParams, runtime.GOMAXPROCS(0)), nil, c.SessionTTL, log)

	// Listen before creating the admin, so the printed sign-in address is
	// the real one even when --http asked for port 0.
	ln, err := net.Listen("tcp", c.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server running there? choose another with --http)", c.HTTP, err)
	}
	base := "http://" + ln.Addr().String()
	pw, err := svc.EnsureAdmin(ctx, c.AdminEmail)
	if err != nil {
		ln.Close()
		return fmt.Errorf("create the first admin: %w", err)
	}
	if pw != "" {
		fmt.Fprintf(e.stdout, "No staff account existed, so an admin account was created:\n"+
			"  e-mail:            %s\n  one-time password: %s\n"+
			"Sign in at %s/staff/signin and choose your own password. This password is not shown again.\n",
			c.AdminEmail, pw, base)
	}

	reports := intake.NewService(st, intake.DefaultChecks,
		intake.Limits{MaxAttachments: c.MaxAttachments, MaxTotalBytes: c.MaxAttachmentBytes},
		intake.RateLimit{Reports: c.ReportsPerHour, Per: time.Hour}, nil)
	var relay *mail.Relay
	if c.Relay != "" {
		relay = &mail.Relay{Addr: c.Relay, From: c.SecurityAddress, Username: c.RelayUser, Password: c.RelayPassword}
		public := strings.TrimRight(c.PublicURL, "/")
		reports.UseMail(intake.Mail{
			Sender:  relay,
			ReplyTo: func(ref string) string { return mail.PlusAddress(c.SecurityAddress, ref) },
			LinkURL: func(secret string) string { return public + "/r/" + secret },
			Failed: func(ref string, err error) {
				log.Warn("acknowledgement not e-mailed; the researcher has the link on screen", "case", ref, "err", err)
			},
		})
	}
	handling := cases.NewService(st, nil)
	builds := fixes.NewService(st, st, nil)
	handling.UseGates(builds)
	handling.SetAnswerWindow(time.Duration(c.VerifyDays) * 24 * time.Hour)
	sched, err := release.ParseSchedule(strings.ReplaceAll(c.ReleaseRule, `\n`, "\n"), c.ForceRule, time.Now())
	if err != nil {
		ln.Close()
		return usageError{fmt.Errorf("--release-rule: %w", err)}
	}
	releases := release.NewService(st, handling, st, sched, nil)
	handling.UseReleases(releases)
	lessons := postmortem.NewService(st, st, nil)
	handling.UsePostMortems(lessons)
	handling.OnMoved(tellResearcher(reports, log))
	reports.OnReporterMessage(handling.ReporterAnswered)
	var smtpLn net.Listener
	var mailSrv *mail.Server
	if c.SMTP != "" {
		if mailSrv, smtpLn, err = listenSMTP(c, reports, blobs, key, log); err != nil {
			ln.Close()
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	disclosure := web.Disclosure{PublicURL: c.PublicURL, SecurityAddress: c.SecurityAddress, PolicyURL: c.PolicyURL,
		Acknowledgments: c.AcknowledgmentsURL, Languages: c.Languages}
	var mailer release.Mailer // stays a nil interface without a relay
	if relay != nil {
		mailer = relay
	}
	subscriptions := release.NewSubscriptions(st, mailer, c.PublicURL, nil)
	var signer web.Signer
	if key != nil {
		disclosure.PGPPublicKey = key.PublicArmored()
		signer = key
		if !key.CanSign() {
			log.Warn("the PGP key cannot sign (no signing key in the file): CSAF documents are published unsigned")
		}
	}
	loc, _ := time.LoadLocation(c.CRATimeZone) // validated
	points, _ := cra.ParsePoints(c.CRAReminders)
	markets, _ := cra.ParseMarkets(c.CRAMarkets)
	regulatory := cra.NewService(st, cra.FromRecords(st), cra.Organisation{Name: cmp.Or(c.CRAOrg, c.VendorName),
		MemberState: strings.ToUpper(c.CRAMemberState), CSIRT: c.CRACSIRT, Contact: c.CRAContact, TimeZone: loc,
		MemberStates: markets, Points: points}, nil)
	cat, err := openCatalog(ctx, c, st, blobs, log, e)
	if err != nil {
		ln.Close()
		return err
	}
	writers := c.FleetWriters
	if writers == 0 {
		writers = map[bool]int{true: 4, false: 1}[c.DB != ""]
	}
	fl := fleet.NewService(st, &fleet.TargetsCatalog{Metadata: st}, st, fleet.Config{Interval: c.CheckinInterval, Committers: writers,
		Retention: c.EventRetention, StaleAfter: c.RetireAfter}, log, nil)
	if err := fleetMetrics(reg, fl); err != nil {
		ln.Close()
		return err
	}
	var mir *mirror.Mirror
	if c.Upstream.Upstream != "" {
		if mir, err = newMirror(c.Store, c.Upstream, st, blobs, fl, nil, log); err != nil {
			ln.Close()
			return err
		}
	}
	h, err := web.NewServer(web.Deps{
		Catalog: cat, Fleet: fl,
		CRA: regulatory, CRAReminders: relay != nil,
		Publisher:  advisory.Publisher{Name: c.VendorName, Namespace: strings.TrimRight(c.PublicURL, "/"), OrgID: c.CNAOrgID, ShortName: c.CNAShortName},
		Disclosure: disclosure, Signer: signer, Subscriptions: subscriptions, Log: log, Staff: svc, Products: product.NewService(st, nil), Audit: st, Blobs: blobs,
		Intake: reports, Cases: handling, Fixes: builds, Releases: releases, PostMortems: lessons, DB: st, Engine: st.Engine(), Version: version.String(),
		Registry: reg, Gatherer: reg, SessionTTL: c.SessionTTL, NoticeDays: c.NoticeDays,
	})
	if err != nil {
		ln.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() { defer close(swept); sweepSessions(ctx, st, log) }()
	defer func() { cancel(); <-swept }() // before st.Close
	var remind func(context.Context, cases.Reminder) error
	if relay != nil {
		remind = func(ctx context.Context, r cases.Reminder) error {
			return relay.Send(ctx, r.To, "", fmt.Sprintf("[%s] %s clock %s", r.Ref, r.Clock.Name, r.Kind),
				fmt.Sprintf("Case %s (%s) is assigned to you.\nIts %s clock is %s: due %s.\n\n%s/staff/cases/%s\n",
					r.Ref, r.Title, r.Clock.Name, strings.ReplaceAll(r.Kind, "-", " "), r.Clock.Due.Format("2006-01-02 15:04 UTC"),
					strings.TrimRight(c.PublicURL, "/"), r.Ref))
		}
	}
	var craRemind func(context.Context) (int, error)
	if relay != nil {
		public := strings.TrimRight(c.PublicURL, "/")
		craRemind = func(ctx context.Context) (int, error) {
			return regulatory.Sweep(ctx, staffEmails{st}, func(ctx context.Context, r cra.Reminder) error {
				return mailReminder(ctx, relay, public, r)
			})
		}
	}
	fleetDone := make(chan struct{})
	go func() {
		defer close(fleetDone)
		if err := fl.Run(ctx); err != nil {
			log.Error("fleet service stopped: check-ins are not answered", "err", err)
		}
	}()
	defer func() { cancel(); <-fleetDone }()
	jobs := []job{{name: "fleet-sweep", every: c.SweepInterval, run: func(ctx context.Context) {
		got, err := fl.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("fleet sweep failed; it runs again next time", "err", err)
		}
		if got != (fleet.Swept{}) {
			log.Info("fleet sweep", "approved", got.Approved, "waves-advanced", got.Advanced, "timed-out", got.TimedOut,
				"retired", got.Retired, "events-expired", got.Expired)
		}
	}}}
	if mir != nil {
		// A sync may download for a long time: its lease outlives that.
		jobs = append(jobs, job{name: "upstream-sync", every: c.SyncInterval, lease: max(time.Hour, 2*c.SyncInterval), run: func(ctx context.Context) {
			r, err := mir.Sync(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("sync from upstream failed; the mirror keeps serving what it had and resumes next time", "upstream", c.Upstream.Upstream, "err", err)
			} else if err == nil {
				log.Info("synced from upstream", "targets", r.Known, "fetched", r.Fetched, "bytes", r.Bytes, "timestamp", r.Timestamp)
			}
			if err := fl.Reload(ctx); err != nil && ctx.Err() == nil {
				log.Warn("fleet view not refreshed after sync", "err", err)
			}
		}})
	}
	caseSwept := make(chan struct{})
	go func() {
		defer close(caseSwept)
		sweepCases(ctx, st, handling, releases, cat, h.SendNotifications, craRemind, staffEmails{st}, remind, c.SweepInterval, jobs, log)
	}()
	defer func() { cancel(); <-caseSwept }()

	if mailSrv != nil {
		mailed := make(chan struct{})
		go func() {
			defer close(mailed)
			if err := mailSrv.Serve(ctx, smtpLn); err != nil {
				log.Error("smtp intake stopped", "err", err)
			}
		}()
		defer func() { cancel(); <-mailed }() // messages being filed finish before st.Close
		fmt.Fprintf(e.stdout, "patchday takes e-mail for %s on smtp://%s\n", c.SecurityAddress, smtpLn.Addr())
	}
	if key != nil {
		public := base
		if c.PublicURL != "" {
			public = strings.TrimRight(c.PublicURL, "/")
		}
		fmt.Fprintf(e.stdout, "patchday publishes OpenPGP key %s at %s/.well-known/pgp-key.asc\n", key.Fingerprint(), public)
	}
	fmt.Fprintf(e.stdout, "patchday %s serving %s (%s)\n", version.String(), base, describe(c.Store))
	log.Info("serving", "addr", ln.Addr().String(), "db", st.Engine(), "data", c.Data)
	if c.DebugHTTP != "" {
		dln, err := net.Listen("tcp", c.DebugHTTP)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on --debug-http %s: %w", c.DebugHTTP, err)
		}
		log.Info("profiler listening", "url", "http://"+dln.Addr().String()+"/debug/pprof/")
		go func() { _ = serveHTTP(ctx, dln, debugMux(), time.Second, log) }()
	}
	return serveHTTP(ctx, ln, h, c.ShutdownTimeout, log)
}

// debugMux serves Go's profiler, for finding what limits a server under
// load (docs/benchmarks.md).
func debugMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveHTTP serves on ln until ctx ends, then stops accepting and lets
// in-flight requests finish (up to timeout) before returning, so the
// caller closes the database only after the last handler is done.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Handlers must not see the shutdown as a cancellation: a request
		// that started is allowed to finish writing.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: requests still running after %s were cut off: %w", timeout, err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// sweepSessions deletes expired sessions every hour until ctx ends.
func sweepSessions(ctx context.Context, st store.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := st.DeleteExpiredSessions(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Warn("expired sessions not swept", "err", err)
		} else if n > 0 {
			log.Debug("swept expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadPGP reads and unlocks the key of --pgp-key.
func loadPGP(path, passphrase string) (*pgp.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--pgp-key: cannot read the key file: %w", err)
	}
	key, err := pgp.Load(b, []byte(passphrase))
	if errors.Is(err, pgp.ErrPassphrase) {
		return nil, fmt.Errorf("--pgp-key %s: %w; give its passphrase in %s (or --pgp-passphrase)", path, err, config.EnvName("pgp-passphrase"))
	}
	if err != nil {
		return nil, fmt.Errorf("--pgp-key %s: %w", path, err)
	}
	return key, nil
}

// listenSMTP prepares the SMTP intake listener for --smtp; key, when not
// nil, decrypts mail encrypted to it.
func listenSMTP(c config.Serve, rcv mail.Receiver, blobs mail.Blobs, key *pgp.Key, log *slog.Logger) (*mail.Server, net.Listener, error) {
	cfg := mail.Config{Addr: c.SMTP, Domain: c.SMTPDomain, Addresses: []string{c.SecurityAddress}, MaxBytes: c.SMTPMaxBytes}
	if key != nil { // not a nil *pgp.Key in a non-nil interface
		cfg.PGP = key
	}
	if c.SMTPCert != "" {
		cert, err := tls.LoadX509KeyPair(c.SMTPCert, c.SMTPKey)
		if err != nil {
			return nil, nil, fmt.Errorf("--smtp-cert/--smtp-key: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := mail.New(cfg, rcv, blobs, log)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", c.SMTP)
	if err != nil {
		return nil, nil, fmt.Errorf("listen for SMTP on %s: %w (choose another with --smtp)", c.SMTP, err)
	}
	return srv, ln, nil
}

// tellResearcher writes to a case's researcher when a move concerns them:
// a fix ready to verify.
func tellResearcher(reports *intake.Service, log *slog.Logger) func(context.Context, intake.Case, cases.Move) {
	return func(ctx context.Context, c intake.Case, m cases.Move) {
		if m.To != cases.Verifying {
			return
		}
		err := reports.Notify(ctx, c.Ref, "A fix passed our independent tests and is ready for you to verify. "+
			"Please download it from your case's private page, check it, and tell us there whether it is fixed.")
		if err != nil {
			log.Warn("researcher not told that a fix is ready to verify", "case", c.Ref, "err", err)
		}
	}
}

// staffEmails finds a staff member's e-mail for reminders.
type staffEmails struct{ st store.Store }

func (s staffEmails) EmailOf(ctx context.Context, id int64) (string, error) {
	u, err := s.st.UserByID(ctx, id)
	return u.Email, err
}

// ReleaseManagers lists the active release managers (admins included).
func (s staffEmails) ReleaseManagers(ctx context.Context) ([]string, error) {
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range us {
		if u.Active() && u.Roles.Has(staff.RoleReleaseManager) {
			out = append(out, u.Email)
		}
	}
	return out, nil
}

// mailReminder e-mails a reporting-deadline reminder to each recipient.
func mailReminder(ctx context.Context, relay *mail.Relay, public string, r cra.Reminder) error {
	what := r.Report.Product
	if r.Report.Case.Ref != "" {
		what += ", case " + r.Report.Case.Ref
	}
	state := fmt.Sprintf("due in %s", r.Left.Round(time.Minute))
	if r.Point == cra.Overdue {
		state = fmt.Sprintf("OVERDUE by %s", (-r.Left).Round(time.Minute))
	}
	subject := fmt.Sprintf("[CRA] %s %s: %s", r.Stage.Title(), state, what)
	body := fmt.Sprintf("The %s to the CSIRT under the Cyber Resilience Act, Article 14, is %s (%s).\n\n%s/staff/regulatory/%d#%s\n",
		strings.ToLower(r.Stage.Title()), state, what, public, r.Report.ID, r.Stage)
	for _, to := range r.To {
		if err := relay.Send(ctx, to, "", subject, body); err != nil {
			return err
		}
	}
	return nil
}

// sweepCases runs time-driven case handling every interval while this
// server holds the "case-sweep" lease, so of several servers sharing a
// database one sweeps at a time.
func sweepCases(ctx context.Context, st store.Store, svc *cases.Service, releases *release.Service, cat *catalog.Service,
	notify, craRemind func(context.Context) (int, error), people cases.Staff,
	remind func(context.Context, cases.Reminder) error, every time.Duration, jobs []job, log *slog.Logger) {
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano())
	t := time.NewTicker(every)
	defer t.Stop()
	// The first round runs at start: a release whose time passed while no
	// server was up is published now, late, and says so.
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		now := time.Now()
		if ok, err := st.TakeLease(ctx, "release-publish", holder, now, now.Add(2*every)); err == nil && ok {
			published, err := releases.Publish(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("release publishing failed; it is retried next time", "err", err)
			}
			for _, p := range published {
				log.Info("release published", "release", p.Release.ID, "at", p.Release.At, "cases", p.Cases)
				if p.Delay > 2*every {
					log.Warn("release published late: no server was up to publish it on time", "release", p.Release.ID, "delay", p.Delay.Round(time.Second))
				}
			}
		}
		if cat.Repo().Signs() {
			if ok, err := st.TakeLease(ctx, "catalog", holder, now, now.Add(2*every)); err == nil && ok {
				syncCatalog(ctx, cat, log)
			}
		}
		for i := range jobs {
			j := &jobs[i]
			if now.Sub(j.last) < j.every {
				continue
			}
			// The lease outlives a slow run (a long download), so two
			// servers do not run the same job at once.
			if ok, err := st.TakeLease(ctx, j.name, holder, now, now.Add(max(2*every, j.lease))); err == nil && ok {
				j.run(ctx)
				j.last = now
				if _, err := st.TakeLease(ctx, j.name, holder, time.Now(), time.Now().Add(j.every)); err != nil && ctx.Err() == nil {
					log.Warn("lease not shortened after the job", "job", j.name, "err", err)
				}
			}
		}
		if ok, err := st.TakeLease(ctx, "notifications", holder, now, now.Add(2*every)); err == nil && ok {
			if n, err := notify(ctx); err != nil && ctx.Err() == nil {
				log.Warn("notices and bulletins: some not sent; retried next time", "err", err)
			} else if n > 0 {
				log.Info("notices and bulletins sent", "messages", n)
			}
		}
		if craRemind != nil {
			if ok, err := st.TakeLease(ctx, "cra-reminders", holder, now, now.Add(2*every)); err == nil && ok {
				if n, err := craRemind(ctx); err != nil && ctx.Err() == nil {
					log.Warn("regulatory deadline reminders: some not sent; retried next time", "err", err)
				} else if n > 0 {
					log.Info("regulatory deadline reminders sent", "reminders", n)
				}
			}
		}
		ok, err := st.TakeLease(ctx, "case-sweep", holder, now, now.Add(2*every))
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("case sweep: lease not taken", "err", err)
			}
			continue
		}
		if !ok {
			continue
		}
		got, err := svc.Sweep(ctx, people, remind)
		if err != nil && ctx.Err() == nil {
			log.Warn("case sweep failed; it runs again next time", "err", err)
		}
		if len(got.Closed) > 0 || got.Reminders > 0 {
			log.Info("case sweep", "closed", got.Closed, "reminders", got.Reminders)
		}
	}
}

// job is scheduled work run by one server at a time, under a lease of its
// name, no more often than every.
type job struct {
	name  string
	every time.Duration
	// lease is how long a run may take before another server may start
	// one too (at least twice the sweep interval).
	lease time.Duration
	run   func(context.Context)
	last  time.Time
}

// fleetMetrics exports the fleet's counters.
func fleetMetrics(reg prometheus.Registerer, fl *fleet.Service) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "patchday_fleet_brake_trips_total",
			Help: "Rollouts paused by the failure brake."}, func() float64 { return float64(fl.Stats().Trips) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "patchday_fleet_checkins_refused_total",
			Help: "Check-ins turned away with Retry-After because writes were behind."}, func() float64 { return float64(fl.Stats().Overloads) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// openCatalog opens the signed catalog: the TUF keys and root versions in
// --tuf-keys (created, all of them, on the first start with the default
// directory, so one command runs the whole loop), every root version
// there imported in order.
func openCatalog(ctx context.Context, c config.Serve, st store.Store, blobs *blob.Store, log *slog.Logger, e *env) (*catalog.Service, error) {
	if c.Upstream.Upstream != "" {
		// A mirror signs nothing: it serves the upstream's metadata as
		// synced, so its computers trust the vendor, not this server.
		if c.TUFKeys != "" {
			return nil, usageError{errors.New("--tuf-keys: a server with --upstream mirrors its upstream's signed catalog and signs nothing; drop one of them")}
		}
		return catalog.NewService(st, st, blobs, tufrepo.New(st, nil, tufrepo.Expiry{}, nil), c.CatalogDeltas, log, nil), nil
	}
	dir := c.TUFKeys
	if dir == "" {
		dir = filepath.Join(c.Data, "tuf-keys")
		_, statErr := os.Stat(dir)
		_, rootErr := st.TUF(ctx, tufrepo.Root, 0)
		switch {
		case statErr == nil:
		case !errors.Is(statErr, os.ErrNotExist):
			return nil, statErr
		case rootErr == nil:
			// Another server sharing this database made the keys: this
			// one serves the catalog and leaves signing to those that
			// hold them.
			log.Warn("this server holds no catalog keys: it serves the signed catalog, and servers started with --tuf-keys sign it")
			return catalog.NewService(st, st, blobs, tufrepo.New(st, nil, tufrepo.Expiry{}, nil), c.CatalogDeltas, log, nil), nil
		default:
			if err := tufrepo.Init(dir, tufrepo.DefaultLayout(), time.Now().Add(tufrepo.RootExpiry)); err != nil {
				return nil, fmt.Errorf("creating the catalog's signing keys: %w", err)
			}
			fmt.Fprintf(e.stdout, "Created the update catalog's TUF keys in %s. The root key is there too:\n"+
				"for production, move root-*.key offline (see docs/operations.md, \"Catalog keys\").\n", dir)
		}
	}
	keys, err := tufrepo.ReadKeyDir(dir)
	if err != nil {
		return nil, usageError{fmt.Errorf("--tuf-keys: %w", err)}
	}
	roots, err := tufrepo.RootFiles(dir)
	if err != nil {
		return nil, usageError{fmt.Errorf("--tuf-keys: %w", err)}
	}
	repo := tufrepo.New(st, keys, tufrepo.Expiry{Targets: c.TargetsExpiry, Snapshot: c.SnapshotExpiry, Timestamp: c.TimestampExpiry}, nil)
	for _, path := range roots {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		added, err := repo.ImportRoot(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if added {
			log.Info("catalog root metadata imported", "file", path)
		}
	}
	return catalog.NewService(st, st, blobs, repo, c.CatalogDeltas, log, nil), nil
}

// syncCatalog adds newly published updates to the catalog and keeps the
// online TUF metadata signed.
func syncCatalog(ctx context.Context, cat *catalog.Service, log *slog.Logger) {
	got, err := cat.Sync(ctx)
	if err != nil && ctx.Err() == nil {
		log.Error("catalog: new updates not added; retried next time", "err", err)
	}
	for _, e := range got.Added {
		log.Info("catalog entry", "product", e.Update.Product, "version", e.Update.Brings, "state", e.State, "deltas", len(e.Deltas))
	}
	if got.Signed {
		log.Info("catalog targets signed and published")
	}
	if r, err := cat.Repo().Refresh(ctx); err != nil && ctx.Err() == nil {
		log.Error("catalog: TUF metadata not re-signed; clients refuse it once it expires", "err", err)
	} else if r != (tufrepo.Refreshed{}) {
		log.Info("catalog metadata re-signed", "targets", r.Targets, "snapshot", r.Snapshot, "timestamp", r.Timestamp)
	}
}
