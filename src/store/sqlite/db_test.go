package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPragmas checks the durability settings on the connections themselves.
func TestPragmas(t *testing.T) {
	s, err := OpenWriteStore(t.Context(), filepath.Join(t.TempDir(), "w.db"), Config{BusyTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenWriteStore: %v", err)
	}
	defer s.Close()
	tests := []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.db.write, "journal_mode", "wal"},
		{s.db.write, "synchronous", "2"}, // FULL
		{s.db.write, "foreign_keys", "1"},
		{s.db.write, "busy_timeout", "1500"},
		{s.db.read, "query_only", "1"},
		{s.db.read, "busy_timeout", "1500"},
	}
	for _, tt := range tests {
		var got string
		if err := tt.db.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
	if _, err := s.db.read.ExecContext(t.Context(), "DELETE FROM changes"); err == nil {
		t.Errorf("a write on the read pool succeeded; want it refused (query_only)")
	}
}

func TestMigrationsAreNumbered(t *testing.T) {
	for _, dir := range []string{writeMigrations, projectionMigrations} {
		all, err := loadMigrations(dir)
		if err != nil {
			t.Fatalf("loadMigrations(%s): %v", dir, err)
		}
		for i, m := range all {
			if m.version != i+1 {
				t.Errorf("%s: migration %s has version %d, want %d (no gaps)", dir, m.name, m.version, i+1)
			}
		}
	}
}

// TestStatusListUsesIndex: the list filtered by status walks the (status, id)
// index instead of scanning and sorting the table.
func TestStatusListUsesIndex(t *testing.T) {
	p, err := OpenProjection(t.Context(), filepath.Join(t.TempDir(), "r.db"), Config{})
	if err != nil {
		t.Fatalf("OpenProjection: %v", err)
	}
	defer p.Close()
	rows, err := p.db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN SELECT "+shipmentColumns+
		" FROM shipments WHERE status = ? AND id > ? ORDER BY id LIMIT ?", "registered", "", 10)
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("scan plan: %v", err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "shipments_status_id") || strings.Contains(joined, "TEMP B-TREE") {
		t.Errorf("query plan %q: want a search of shipments_status_id and no sort", joined)
	}
}
