package sqlitebus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// A queue's file shrinks once its backlog is processed and the writer
// compacts: a burst does not leave the file at its largest size for good.
func TestCompactShrinksTheQueueFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	body := []byte(strings.Repeat("x", 2000))
	var msgs []bus.Message
	for i := range 2000 {
		msgs = append(msgs, bus.Message{ID: fmt.Sprint(i), SessionID: fmt.Sprint(i % 10), Subject: "t", Body: body})
	}
	if err := q.Send(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	compactNow(t, q)
	full := size(t, path)
	for done := 0; done < len(msgs); {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := q.AcceptNextSession(actx)
		cancel()
		if err != nil {
			t.Fatalf("accept after %d: %v", done, err)
		}
		for {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			got, err := s.Receive(rctx, 100)
			cancel()
			if err != nil {
				break
			}
			for _, m := range got {
				if err := s.Complete(ctx, m); err != nil {
					t.Fatal(err)
				}
				done++
			}
		}
		_ = s.Close(ctx)
	}
	deadline := time.Now().Add(5 * time.Second)
	for size(t, path) > full/4 {
		if time.Now().After(deadline) {
			t.Fatalf("file %d bytes after the backlog, %d at its largest: want under a quarter", size(t, path), full)
		}
		compactNow(t, q)
	}
}

// compactNow runs compact on the writer's goroutine, as its ticker does,
// right after an operation of its own.
func compactNow(t *testing.T, q *Queue) {
	t.Helper()
	done := make(chan struct{})
	if !q.writer.Submit(func(*batch) error { return nil }, func(error) { q.compact(); close(done) }) {
		t.Fatal("the writer is closed")
	}
	<-done
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
