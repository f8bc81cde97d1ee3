package sqlitebus_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// A queue file damaged in its middle pages does not open: the error names the
// file and says what to do, instead of a process that starts, says it is
// ready and fails every send.
func TestDamagedFileDoesNotOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := sqlitebus.Open(path, sqlitebus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 3000) // a page or so each: the file grows to many pages
	var msgs []bus.Message
	for i := range 200 {
		msgs = append(msgs, msg(fmt.Sprintf("s-%d", i%7), fmt.Sprintf("m-%d", i), body))
	}
	if err := q.Send(t.Context(), msgs...); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	damage(t, path)
	q, err = sqlitebus.Open(path, sqlitebus.Config{})
	if err == nil {
		q.Close()
		t.Fatal("a damaged queue file opened")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("open of a damaged file: %v; want the file named and said to be damaged", err)
	}
}

// damage overwrites pages in the middle of the file at path with garbage,
// leaving its header (page 1) intact.
func damage(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 64<<10 {
		t.Fatalf("the file is %d bytes, too small to damage its middle", fi.Size())
	}
	garbage := []byte(strings.Repeat("\xde\xad\xbe\xef", 4096)) // 16 KiB
	if _, err := f.WriteAt(garbage, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// Damage that appears while the queue runs fails its readiness check, naming
// the file, and for good: before, the queue answered ready while every send
// failed with "database disk image is malformed".
func TestDamageAtRunTimeFailsReadiness(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := sqlitebus.Open(path, sqlitebus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	body := strings.Repeat("x", 3000)
	var msgs []bus.Message
	for i := range 200 {
		msgs = append(msgs, msg(fmt.Sprintf("s-%d", i%7), fmt.Sprintf("m-%d", i), body))
	}
	if err := q.Send(t.Context(), msgs...); err != nil {
		t.Fatal(err)
	}
	if err := q.PingSend(t.Context()); err != nil {
		t.Fatalf("ping of a sound queue: %v", err)
	}
	if err := sqlitebus.CheckpointForTest(q); err != nil {
		t.Fatal(err)
	}
	damage(t, path)
	sqlitebus.ExpireIntactCheck(q)
	err = q.PingSend(t.Context())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("ping of a queue damaged at run time: %v; want the file named and said to be damaged", err)
	}
	// It stays failed: the next check does not need another quick_check.
	if err := q.PingReceive(t.Context()); err == nil {
		t.Error("a damaged queue answered ready again")
	}
}
