package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/store"
	"github.com/patchday/patchday/internal/store/sqlite"
	"github.com/patchday/patchday/internal/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) store.Store { return open(t, filepath.Join(t.TempDir(), "patchday.db")) },
		Exec: func(t *testing.T, s store.Store, sql string) error {
			return s.(*sqlite.Store).Exec(context.Background(), sql)
		},
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patchday.db")
	s := open(t, path)
	storetest.Seed(t, s)
	s.Close()
	s = open(t, path)
	defer s.Close()
	storetest.CheckSeed(t, s)
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patchday.db")
	s := open(t, path)
	if err := s.Exec(context.Background(), "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := sqlite.Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "version 999") || !strings.Contains(err.Error(), "newer patchday") {
		t.Fatalf("Open on a newer schema: %v; want a refusal naming the versions", err)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "patchday.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
