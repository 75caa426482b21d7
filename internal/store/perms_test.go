package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/civic-city/civic/internal/store"
)

// TestSQLiteFilesPrivate: the database, its WAL and shared-memory files
// are 0600 even in a world-readable folder under the usual umask, and an
// existing world-readable database is tightened when opened.
func TestSQLiteFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func(path string) {
		t.Helper()
		ctx := context.Background()
		s, err := store.Open(ctx, "sqlite:"+path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.CreateBin(ctx, testBin("B-1", 52.5, 13.4)); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v (the store is open in WAL mode: it should exist)", filepath.Base(p), err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(p), perm)
			}
		}
	}
	check(filepath.Join(dir, "new.db"))

	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(old, 0o644)
	check(old)
}
