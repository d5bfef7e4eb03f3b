package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store"
	"github.com/patchday/patchday/internal/store/postgres"
	"github.com/patchday/patchday/internal/store/postgres/pgtest"
	"github.com/patchday/patchday/internal/store/storetest"
)

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) },
		Exec: func(t *testing.T, s store.Store, sql string) error {
			return s.(*postgres.Store).Exec(context.Background(), sql)
		},
	})
}

func TestEngine(t *testing.T) {
	s := open(t, pgtest.URL(t))
	defer s.Close()
	if got := s.Engine(); got != "postgres" {
		t.Errorf("Engine() = %q, want postgres", got)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestAuditTruncateRefused(t *testing.T) {
	s := open(t, pgtest.URL(t))
	defer s.Close()
	storetest.Seed(t, s)
	if err := s.Exec(context.Background(), "TRUNCATE audit"); err == nil {
		t.Errorf("TRUNCATE audit succeeded; the audit log must be append-only")
	}
	storetest.CheckSeed(t, s)
}

func TestReopenKeepsData(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	storetest.Seed(t, s)
	s.Close()
	s = open(t, url)
	defer s.Close()
	storetest.CheckSeed(t, s)
}

func TestRefusesNewerSchema(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	if err := s.Exec(context.Background(), "UPDATE schema_version SET version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	latest, err := postgres.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(context.Background(), url)
	if err == nil || !strings.Contains(err.Error(), "version 999") ||
		!strings.Contains(err.Error(), fmt.Sprintf("only up to %d", latest)) || !strings.Contains(err.Error(), "newer patchday") {
		t.Fatalf("Open on a newer schema: %v; want a refusal naming both versions", err)
	}
}

// Several servers starting at once on one fresh database all come up, and
// the migrations run once.
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.URL(t)
	const racers = 4
	stores := make([]*postgres.Store, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	latest, err := postgres.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := stores[0].QueryInt(ctx, "SELECT count(*) FROM schema_version"); err != nil || n != 1 {
		t.Errorf("schema_version rows = %d, %v; want 1", n, err)
	}
	if v, err := stores[0].QueryInt(ctx, "SELECT version FROM schema_version"); err != nil || v != latest {
		t.Errorf("schema version = %d, %v; want %d", v, err, latest)
	}
	// Every store works on the one schema.
	storetest.Seed(t, stores[0])
	for _, s := range stores {
		storetest.CheckSeed(t, s)
	}
}

// CreateFirstUser must see an account being created by another process
// (here, a transaction not yet committed): it waits for it, then declines.
// This pins down what the suite's race can only catch by chance.
func TestFirstUserWaitsForPendingInsert(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	defer s.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO users (email, roles, password_hash, created_at)
		VALUES ('other@example.com', 'admin', 'x', now())`); err != nil {
		t.Fatal(err)
	}

	type result struct {
		created bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		u := staff.User{Email: "admin@example.com", Roles: staff.Roles{staff.RoleAdmin}, PasswordHash: "x"}
		created, err := s.CreateFirstUser(ctx, &u, audit.New(audit.System, time.Now(), "user.create", "user:admin@example.com", ""))
		done <- result{created, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := s.QueryInt(ctx, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'users'::regclass")
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break // CreateFirstUser is waiting for the other transaction
		}
		select {
		case r := <-done:
			t.Fatalf("CreateFirstUser = %v, %v without waiting for the account being created", r.created, r.err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("CreateFirstUser neither waited nor returned")
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.created || r.err != nil {
		t.Errorf("CreateFirstUser after another account was created = %v, %v; want false, nil", r.created, r.err)
	}
}

// Everything is created in the URL's schema, none of it in public.
func TestStaysInItsSchema(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	defer s.Close()
	n, err := s.QueryInt(context.Background(), `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname IN ('schema_version', 'users', 'sessions', 'api_tokens', 'signin_failures', 'audit')`)
	if err != nil || n != 6 {
		t.Errorf("tables in the URL's schema: %d, %v; want 6", n, err)
	}
	n, err = s.QueryInt(context.Background(), `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relname IN ('schema_version', 'users', 'audit')`)
	if err != nil || n != 0 {
		t.Errorf("tables in public: %d, %v; want 0", n, err)
	}
}

func TestMissingSchema(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t)) // skips if there is no server
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "patchday_no_such_schema")
	u.RawQuery = q.Encode()
	_, err = postgres.Open(context.Background(), u.String())
	if err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("Open with a missing schema: %v; want an error about the search_path", err)
	}
}

func TestBadURL(t *testing.T) {
	for _, url := range []string{"", "mysql://root@localhost/db", "host=localhost dbname=x", "postgres://u:secret@host:notaport/db"} {
		_, err := postgres.Open(context.Background(), url)
		if err == nil || !strings.Contains(err.Error(), "postgres://user@host:port/db") {
			t.Errorf("Open(%q) = %v; want an error showing the expected form", url, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) = %v; the error must not show the password", url, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://postgres:secret@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
	if err == nil || !strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open on a closed port: %v; want an error saying the server cannot be reached", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.URL(b))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
