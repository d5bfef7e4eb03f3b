// Package postgres is the store for larger installations and for several
// patchday servers sharing one database: PostgreSQL through a pgx pool.
// Everything lives in the connection's current schema (the first existing
// schema on its search_path), so one database can hold several patchday
// instances, or tests can each have their own schema.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLock is the key of the advisory lock held while migrating, so that
// several servers starting at once on one database migrate one at a time.
// (It is database-wide, so instances in other schemas of the same database
// wait for each other's migrations too; that is harmless.)
const migrateLock int64 = 0x7061_7463_6864_6179 // "patchday"

// Store is a store.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url, a postgres:// (or postgresql://)
// URL, checks that it answers and applies pending migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	const want = "expected a URL such as postgres://user@host:port/db"
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, fmt.Errorf("open postgres: invalid database URL: %s", want)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: invalid database URL (%s): %s", parseProblem(err), want)
	}
	where := describe(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	s := &Store{pool: pool}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		var pe *pgconn.PgError
		if errors.As(err, &pe) { // it answered, but said no (unknown user, wrong password, …)
			return nil, fmt.Errorf("open postgres: the database server at %s refused the connection: %w", where, err)
		}
		return nil, fmt.Errorf("open postgres: cannot reach the database server at %s: %w", where, err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	return s, nil
}

// parseProblem says what is wrong with a URL pgx cannot parse. pgx quotes
// the URL with its password redacted only on a best-effort basis, so the
// URL is left out.
func parseProblem(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	bare := *pe
	bare.ConnString = ""
	return strings.TrimPrefix(bare.Error(), "cannot parse ``: ")
}

// describe names the server and database for messages, without the password.
func describe(c *pgx.ConnConfig) string {
	host := c.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, strconv.Itoa(int(c.Port)))
	}
	return fmt.Sprintf("%s (database %q, user %q)", host, c.Database, c.User)
}

// Engine names the engine.
func (s *Store) Engine() string { return "postgres" }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func migrations() ([]store.Migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	return store.LoadMigrations(sub)
}

// migrate applies pending migrations in one transaction. The advisory lock
// serializes servers starting at once; the second to get it finds the
// schema up to date and does nothing.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		var schema *string
		var path string
		if err := tx.QueryRow(ctx, "SELECT current_schema(), current_setting('search_path')").Scan(&schema, &path); err != nil {
			return err
		}
		if schema == nil {
			return fmt.Errorf("no schema to keep patchday's tables in: none of the schemas on the search_path (%s) exists; "+
				"create it, or set search_path in the URL", path)
		}
		// One row, the version the schema is at (no row: version 0).
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			one     boolean PRIMARY KEY DEFAULT true CHECK (one),
			version integer NOT NULL
		)`); err != nil {
			return fmt.Errorf("create schema_version in schema %s: %w", *schema, err)
		}
		var have int
		err := tx.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&have)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read schema version: %w", err)
		}
		if err := store.CheckVersion(have, ms); err != nil {
			return err
		}
		if have == len(ms) {
			return nil
		}
		for _, m := range ms[have:] {
			// Without arguments, Exec uses the simple protocol, which runs
			// a file of several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)
			ON CONFLICT (one) DO UPDATE SET version = excluded.version`, len(ms))
		return err
	})
}

// tx runs fn in a transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return mapErr(err, "")
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return mapErr(tx.Commit(ctx), "")
}

// mapErr turns engine errors into domain errors. conflict is the message
// for a uniqueness violation.
func mapErr(err error, conflict string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return patchday.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			if conflict == "" {
				conflict = "already exists"
			}
			return &patchday.Error{Kind: patchday.ErrConflict, Message: conflict}
		case "23503": // foreign_key_violation
			return &patchday.Error{Kind: patchday.ErrNotFound, Message: "refers to something that does not exist"}
		}
	}
	return err
}

// ts is the value stored for t: timestamptz keeps microseconds, and
// truncating here (as SQLite's unix microseconds do) rather than leaving it
// to the driver makes what is stored explicit.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
