// Package sqlite is the embedded default store: one SQLite file in the data
// directory, in WAL mode with foreign keys on. SQLite allows one writer at a
// time, so writes go through a single connection while reads use a pool.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a store.Store on SQLite.
type Store struct {
	write *sql.DB // exactly one connection: SQLite has one writer
	read  *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(10000)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	s := &Store{write: write, read: read}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

// Engine names the engine.
func (s *Store) Engine() string { return "sqlite" }

// Ping checks that the database file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return err
	}
	ms, err := store.LoadMigrations(sub)
	if err != nil {
		return err
	}
	// BEGIN IMMEDIATE (the _txlock) takes the write lock, so two processes
	// starting on one file cannot both apply a migration.
	return s.tx(ctx, func(tx *sql.Tx) error {
		var have int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if err := store.CheckVersion(have, ms); err != nil {
			return err
		}
		for _, m := range ms[have:] {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		// PRAGMA takes no parameters; the value is an int we produced.
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(ms)))
		return err
	})
}

// tx runs fn in a write transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err, "")
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return mapErr(tx.Commit(), "")
}

// mapErr turns engine errors into domain errors. conflict is the message
// for a uniqueness violation.
func mapErr(err error, conflict string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return patchday.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			if conflict == "" {
				conflict = "already exists"
			}
			return &patchday.Error{Kind: patchday.ErrConflict, Message: conflict}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &patchday.Error{Kind: patchday.ErrNotFound, Message: "refers to something that does not exist"}
		}
	}
	return err
}

// Timestamps are unix microseconds in UTC: compact, and they sort.
func ts(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromTS(us int64) time.Time { return time.UnixMicro(us).UTC() }
