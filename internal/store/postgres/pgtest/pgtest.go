// Package pgtest gives each test a PostgreSQL schema of its own, for the
// postgres store's tests and for end-to-end tests that run patchday on
// PostgreSQL.
//
// The server is the one named by PATCHDAY_TEST_POSTGRES_URL (default
// DefaultURL). When it cannot be reached the test is skipped, unless
// PATCHDAY_REQUIRE_POSTGRES=1, when it fails: set that in CI so that a
// missing server cannot pass unnoticed.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server used when PATCHDAY_TEST_POSTGRES_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL returns the test server's URL from the environment.
func BaseURL() string {
	if u := os.Getenv("PATCHDAY_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Required reports whether PATCHDAY_REQUIRE_POSTGRES=1, so that an
// unreachable server fails tests instead of skipping them.
func Required() bool { return os.Getenv("PATCHDAY_REQUIRE_POSTGRES") == "1" }

// URL creates a new, empty schema with a random name and returns the test
// server's URL with search_path set to it, so that everything opened with
// the URL lives in that schema. The schema is dropped, with everything in
// it, when t ends (after cleanups registered later, such as closing the
// store, have run). URL skips t when the server cannot be reached, or fails
// it if Required.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("PATCHDAY_TEST_POSTGRES_URL must be a URL such as %s", DefaultURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if Required() {
			t.Fatalf("PostgreSQL is required (PATCHDAY_REQUIRE_POSTGRES=1) but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set PATCHDAY_TEST_POSTGRES_URL to test against it): %v", err)
	}
	defer conn.Close(context.Background())

	b := make([]byte, 8)
	rand.Read(b)
	schema := "patchday_test_" + hex.EncodeToString(b)
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("create test schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
