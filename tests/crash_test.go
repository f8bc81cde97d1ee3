package tests

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shipmentLog is what one client knows about one shipment: the operations
// that got a 202, in the order they were sent, and whether a request's
// outcome is unknown (the connection broke: it may or may not have been stored).
type shipmentLog struct {
	accepted []string
	unknown  bool
}

// TestKillMidBurst kills the whole system with SIGKILL while many clients are
// sending, starts it again, and checks the promise: every command that got a
// 202 is applied exactly once, in the order it was sent within its shipment.
func TestKillMidBurst(t *testing.T) {
	dir := t.TempDir()
	// A short session lock, so that the restarted process takes over the
	// sessions the killed one held without a long wait.
	lock := []string{"--lock-duration", "2s"}
	p := start(t, dir, "serve", lock...)

	const clients, perClient = 16, 3
	logs := make(map[string]*shipmentLog)
	var mu sync.Mutex
	var acceptedTotal atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range perClient {
				id := fmt.Sprintf("crash-%02d-%d", c, s)
				mu.Lock()
				logs[id] = &shipmentLog{}
				mu.Unlock()
			}
			// Round-robin over this client's shipments, one command at a time,
			// until the process dies under us.
			for n := 0; ; n++ {
				id := fmt.Sprintf("crash-%02d-%d", c, n%perClient)
				method, body := "PATCH", fmt.Sprintf(`{"recipient":"r-%d"}`, n/perClient)
				if n < perClient {
					method, body = "PUT", `{"recipient":"r-0","destination":"Main St 1","weightGrams":500,"service":"standard"}`
				}
				status, op, err := send(method, p.URL+"/v1/shipments/"+id, body)
				mu.Lock()
				if err != nil {
					logs[id].unknown = true
					mu.Unlock()
					return
				}
				if status == http.StatusAccepted {
					logs[id].accepted = append(logs[id].accepted, op)
					acceptedTotal.Add(1)
				}
				mu.Unlock()
				if status != http.StatusAccepted {
					t.Errorf("%s %s: HTTP %d", method, id, status)
					return
				}
			}
		}()
	}
	waitFor(t, 30*time.Second, func() bool { return acceptedTotal.Load() >= 400 })
	p.kill()
	wg.Wait()
	t.Logf("killed after %d accepted commands", acceptedTotal.Load())

	p = start(t, dir, "serve", lock...)
	var ids []string
	for _, l := range logs {
		ids = append(ids, l.accepted...)
	}
	ops := waitOperations(t, p.URL, ids, 60*time.Second)
	for id, op := range ops {
		if op.Status != "Succeeded" {
			t.Errorf("operation %s: %s %+v, want Succeeded", id, op.Status, op.Error)
		}
	}
	for id, l := range logs {
		checkHistory(t, p.URL, id, l)
	}
	p.stop()
}

// checkHistory requires each accepted operation exactly once in the
// shipment's history, in the order sent, with at most one more (a request
// whose answer was lost in the crash) at the end.
func checkHistory(t *testing.T, baseURL, id string, l *shipmentLog) {
	t.Helper()
	var h historyBody
	status := getJSON(t, baseURL+"/v1/shipments/"+id+"/history", &h)
	if len(l.accepted) == 0 {
		return // nothing promised; a lost first PUT may or may not exist
	}
	if status != http.StatusOK {
		t.Errorf("history of %s: HTTP %d", id, status)
		return
	}
	var got []string
	for i, e := range h.Items {
		if e.Version != int64(i+1) {
			t.Errorf("%s: history entry %d has version %d", id, i, e.Version)
		}
		got = append(got, e.OperationID)
	}
	extra := len(got) - len(l.accepted)
	if extra < 0 || extra > 1 || (extra == 1 && !l.unknown) {
		t.Errorf("%s: %d entries in history for %d accepted commands (outcome unknown: %v)", id, len(got), len(l.accepted), l.unknown)
		return
	}
	for i, op := range l.accepted {
		if got[i] != op {
			t.Errorf("%s: history[%d] = %s, want %s (sent order)", id, i, got[i], op)
			return
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with the deadline above
	}
}
