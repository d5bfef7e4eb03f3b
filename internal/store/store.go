// Package store defines everything patchday keeps in its database, as one
// interface with two implementations (sqlite/ and postgres/) that pass the
// same conformance suite (storetest/).
package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/mirror"
	"github.com/patchday/patchday/internal/postmortem"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
)

// Store is the whole of patchday's persistent state.
type Store interface {
	staff.Store
	audit.Store
	product.Store
	intake.Store
	cases.Store
	fixes.Store
	release.Store
	release.SubscriberStore
	cra.Store
	catalog.Store
	mirror.Store
	fleet.Store
	postmortem.Store
	// TakeLease gives holder the named lease until the given time if it
	// is free, expired, or already theirs, and reports whether holder has
	// it: of several servers, one runs each scheduled job.
	TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Engine names the database engine ("sqlite" or "postgres").
	Engine() string
	Close() error
}

// Migration is one numbered, embedded schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads NNNN_name.sql files from fsys and checks that they
// are numbered 1, 2, 3, … without gaps, so a missing file cannot go unseen.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(path.Base(name), ".sql"), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d; migrations must be numbered without gaps", m.Name, i+1)
		}
	}
	return ms, nil
}

// CheckVersion refuses a database whose schema is newer than this binary
// knows: running old code on a newer schema could corrupt it.
func CheckVersion(have int, ms []Migration) error {
	if have > len(ms) {
		return fmt.Errorf("the database schema is at version %d but this patchday knows only up to %d: "+
			"it was upgraded by a newer patchday; run that version (or newer) instead", have, len(ms))
	}
	return nil
}
