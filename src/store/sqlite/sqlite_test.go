package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/dropoff-dev/dropoff/src/store/sqlite"
	"github.com/dropoff-dev/dropoff/src/store/storetest"
)

// openWrite opens a fresh write store in the test's temporary directory.
func openWrite(t testing.TB, cfg sqlite.Config) *sqlite.WriteStore {
	t.Helper()
	s, err := sqlite.OpenWriteStore(t.Context(), filepath.Join(t.TempDir(), "write.db"), cfg)
	if err != nil {
		t.Fatalf("OpenWriteStore: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openProjection opens a fresh projection in the test's temporary directory.
func openProjection(t testing.TB, cfg sqlite.Config) *sqlite.Projection {
	t.Helper()
	p, err := sqlite.OpenProjection(t.Context(), filepath.Join(t.TempDir(), "read.db"), cfg)
	if err != nil {
		t.Fatalf("OpenProjection: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func TestWriteStore(t *testing.T) {
	storetest.RunWriteStore(t, func(t *testing.T) storetest.WriteDB { return openWrite(t, sqlite.Config{}) })
}

func TestProjection(t *testing.T) {
	storetest.RunProjection(t, func(t *testing.T) storetest.ProjectionDB { return openProjection(t, sqlite.Config{}) })
}

// TestPipeline commits some ten thousand transactions. With synchronous=FULL
// each one waits for the disk (an fsync of the WAL), which makes the test
// slow without testing anything more, so it relaxes both files to NORMAL:
// still safe against a crash of the program, not against power loss.
func TestPipeline(t *testing.T) {
	relaxed := sqlite.Config{Synchronous: "NORMAL"}
	storetest.RunPipeline(t,
		func(t *testing.T) storetest.WriteDB { return openWrite(t, relaxed) },
		func(t *testing.T) storetest.ProjectionDB { return openProjection(t, relaxed) })
}
