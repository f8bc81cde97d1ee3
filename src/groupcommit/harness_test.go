package groupcommit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/dropoff-dev/dropoff/src/groupcommit"
)

// The tests drive a Writer over a real SQLite file: one table of ids, one
// connection for the writer and a pool that reads only what has committed.
// Each test that needs a batch of known calls holds the writer busy with a
// call that blocks until released, queues the calls under test behind it,
// waits until they are all queued, then releases it: what goes into one
// batch is decided by the test, not by timing.

// harness is one Writer with its database, and switches that make the next
// transaction fail where a test wants it to.
type harness struct {
	w     *groupcommit.Writer[*testTx]
	write *sql.DB // one connection, the writer's
	read  *sql.DB

	commits    atomic.Int64
	savepoints atomic.Int64 // savepoints taken
	failBegin  atomic.Bool
	attempts   atomic.Int64 // commits tried
	failCommit atomic.Int64 // the commit tried as number n fails (0: none)
	failSaveAt atomic.Int64 // the savepoint taken as number n fails (0: none)
}

var (
	errBegin     = errors.New("test: begin failed")
	errCommit    = errors.New("test: commit failed")
	errSavepoint = errors.New("test: savepoint failed")
	errBoom      = errors.New("test: boom")
)

// testTx is the harness's groupcommit.Tx.
type testTx struct {
	h  *harness
	tx *sql.Tx
	// changes counts the rows inserted; mark is its value before the
	// running call (Unsaved).
	changes, mark int64
}

func (t *testTx) Savepoint() error {
	if n := t.h.savepoints.Add(1); n == t.h.failSaveAt.Load() {
		return errSavepoint
	}
	_, err := t.tx.Exec("SAVEPOINT call")
	return err
}

func (t *testTx) RollbackTo() error { _, err := t.tx.Exec("ROLLBACK TO call"); return err }
func (t *testTx) Release() error    { _, err := t.tx.Exec("RELEASE call"); return err }
func (t *testTx) Rollback() error   { return t.tx.Rollback() }

func (t *testTx) Commit() error {
	if n := t.h.attempts.Add(1); n == t.h.failCommit.Load() {
		return errCommit // the deferred Rollback undoes the work
	}
	return t.tx.Commit()
}

// insert writes row id.
func (t *testTx) insert(id string) error {
	if _, err := t.tx.Exec("INSERT INTO ids (id) VALUES (?)", id); err != nil {
		return fmt.Errorf("insert %s: %w", id, err)
	}
	t.changes++
	return nil
}

// unsaved is the Config.Unsaved of testTx.
var unsaved = &groupcommit.Unsaved[*testTx]{
	Mark: func(t *testTx) { t.mark = t.changes },
	Undo: func(t *testTx) bool { return t.changes == t.mark },
}

// open starts a Writer with cfg (Begin and AfterCommit are the harness's)
// on a fresh file, and closes it at cleanup.
func open(t *testing.T, cfg groupcommit.Config[*testTx]) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ids.db")
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(5000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + v.Encode()
	h := &harness{}
	var err error
	if h.write, err = sql.Open("sqlite", dsn); err != nil {
		t.Fatal(err)
	}
	h.write.SetMaxOpenConns(1)
	if _, err := h.write.Exec("CREATE TABLE ids (id TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if h.read, err = sql.Open("sqlite", dsn); err != nil {
		t.Fatal(err)
	}
	cfg.Begin = func() (*testTx, error) {
		if h.failBegin.Load() {
			return nil, errBegin
		}
		tx, err := h.write.Begin()
		return &testTx{h: h, tx: tx}, err
	}
	cfg.AfterCommit = func(*testTx, int) { h.commits.Add(1) }
	if h.w, err = groupcommit.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.w.Close()
		h.write.Close()
		h.read.Close()
	})
	return h
}

// ids returns the committed ids, sorted.
func (h *harness) ids(t *testing.T) []string {
	t.Helper()
	rows, err := h.read.Query("SELECT id FROM ids")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// committed reports whether row id has committed.
func (h *harness) committed(t *testing.T, id string) bool {
	t.Helper()
	var n int
	if err := h.read.QueryRow("SELECT COUNT(*) FROM ids WHERE id = ?", id).Scan(&n); err != nil {
		t.Error(err)
	}
	return n == 1
}

// insert is a call that writes row id.
func insert(id string) func(*testTx) error {
	return func(t *testTx) error { return t.insert(id) }
}

// insertThenFail writes row id and fails.
func insertThenFail(id string) func(*testTx) error {
	return func(t *testTx) error {
		if err := t.insert(id); err != nil {
			return err
		}
		return errBoom
	}
}

// hold starts a call whose fn blocks until release is called, then runs
// then (if not nil); hold returns once fn is running: the writer is busy.
// result gets the call's outcome.
func (h *harness) hold(t *testing.T, then func(*testTx) error) (release func(), result <-chan error) {
	t.Helper()
	entered, released, res := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() { // ends when released: every test releases, at the latest at cleanup
		res <- h.w.Do(context.Background(), func(tx *testTx) error {
			close(entered)
			<-released
			if then == nil {
				return nil
			}
			return then(tx)
		})
	}()
	<-entered
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	t.Cleanup(release)
	return release, res
}

// queue calls Do(ctx, fn) for each fn on its own goroutine, in order (each
// is queued before the next is made), and returns their outcomes, in the
// same order, to be read after the writer is released.
func (h *harness) queue(t *testing.T, ctx context.Context, fns ...func(*testTx) error) []chan error {
	t.Helper()
	out := make([]chan error, len(fns))
	before := h.w.Queued()
	for i, fn := range fns {
		out[i] = make(chan error, 1)
		go func() { out[i] <- h.w.Do(ctx, fn) }()
		waitFor(t, fmt.Sprintf("%d queued calls", before+i+1), func() bool { return h.w.Queued() == before+i+1 })
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond) // polling, with a deadline
	}
}

// receive reads one outcome, failing the test if it does not come.
func receive(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome within 10s")
		return nil
	}
}
