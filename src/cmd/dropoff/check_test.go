package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// dropoff check agrees when the projection has caught up, and counts the
// shipments it has not.
func TestCheckComparesTheProjection(t *testing.T) {
	s := startSystem(t)
	s.succeed(t, "PUT", "c-1", parcel, "Content-Type", "application/json") // visible: projected
	var out bytes.Buffer
	if err := run(t.Context(), []string{"check", "--data-dir", s.dir}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("check of a caught-up projection: %v", err)
	}
	if !strings.Contains(out.String(), "agrees") {
		t.Errorf("check printed %q, want that it agrees", out.String())
	}

	dir := t.TempDir() // a write database whose projection is still empty
	w, err := sqlite.OpenWriteStore(t.Context(), filepath.Join(dir, "write.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	applyCommands(t, w, "unprojected", 3)
	w.Close()
	err = run(t.Context(), []string{"check", "--data-dir", dir}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "3 shipments differ") {
		t.Errorf("check of a projection 3 shipments behind = %v, want 3 differences", err)
	}
}
