package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/patchday/patchday/internal/config"
	"github.com/patchday/patchday/internal/store"
	"github.com/patchday/patchday/internal/store/postgres"
	"github.com/patchday/patchday/internal/store/sqlite"
)

// prepareData makes sure the data directory exists and is writable, so a
// mistake is reported before anything else happens.
func prepareData(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s cannot be created: %w (choose another with --data or PATCHDAY_DATA)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w (choose another with --data or PATCHDAY_DATA)", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// openStore opens the configured database: PostgreSQL if --db is set,
// else SQLite in the data directory. Migrations run on open.
func openStore(ctx context.Context, c config.Store) (store.Store, error) {
	if err := c.Validate(); err != nil {
		return nil, usageError{err}
	}
	if c.DB != "" {
		// A server that silently drops packets must not hang the start.
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		st, err := postgres.Open(octx, c.DB)
		if err != nil {
			return nil, err
		}
		// The blobs still live in the data directory.
		if err := prepareData(c.Data); err != nil {
			st.Close()
			return nil, err
		}
		return st, nil
	}
	if err := prepareData(c.Data); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, filepath.Join(c.Data, "patchday.db"))
}

// describe says where the data lives, for the start-up message.
func describe(c config.Store) string {
	if c.DB != "" {
		return "PostgreSQL"
	}
	return "SQLite at " + filepath.Join(c.Data, "patchday.db")
}
