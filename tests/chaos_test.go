package tests

import (
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to read the write database directly, as an auditor would
)

var (
	kills = flag.Int("kills", 20, "how many times TestKillRandomRoles kills a role (longer by hand: go test ./tests -run TestKillRandomRoles -args -kills 200)")
	seed  = flag.Uint64("seed", 0, "TestKillRandomRoles's random seed (0: from the clock; the seed is logged)")
)

// role is one role's process, restartable on the same port.
type role struct {
	name, addr string
	p          *proc
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestKillRandomRoles runs the four roles as separate processes on one data
// directory, drives commands at them, and kills a random role with SIGKILL
// again and again, restarting it each time. Afterwards: no command that got a
// 202 is lost, none applied twice, none out of order within its shipment,
// and the projection equals the write database.
func TestKillRandomRoles(t *testing.T) {
	dir := t.TempDir()
	roles := map[string]*role{}
	for _, name := range []string{"command-api", "worker", "projector", "query-api"} {
		r := &role{name: name, addr: freeAddr(t)}
		r.p = start(t, dir, name, "--addr", r.addr, "--lock-duration", "2s")
		roles[name] = r
	}
	cmdURL, queryURL := "http://"+roles["command-api"].addr, "http://"+roles["query-api"].addr

	const clients, perClient = 12, 2
	var (
		mu      sync.Mutex
		sent    = map[string][]string{} // shipment → operations sent, 202 or unknown, in order
		stop    atomic.Bool
		wg      sync.WaitGroup
		total   atomic.Int64
		created = map[string]bool{}
	)
	for c := range clients {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				id := fmt.Sprintf("chaos-%02d-%d", c, n%perClient)
				mu.Lock()
				method, body := "PATCH", fmt.Sprintf(`{"recipient":"r-%d"}`, n)
				if !created[id] {
					method, body = "PUT", `{"recipient":"r","destination":"d","weightGrams":10,"service":"standard"}`
				}
				mu.Unlock()
				status, op, err := send(method, cmdURL+"/v1/shipments/"+id, body)
				if err != nil || status != http.StatusAccepted {
					// Connection refused or reset (the command API is being
					// restarted), or a 503: the outcome is unknown or a refusal.
					time.Sleep(20 * time.Millisecond) // back off before retrying, like a client would
					continue
				}
				mu.Lock()
				sent[id] = append(sent[id], op)
				created[id] = true
				mu.Unlock()
				total.Add(1)
			}
		})
	}

	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("killing %d times; reproduce the order with -seed %d", *kills, s)
	rng := rand.New(rand.NewPCG(s, 7))
	names := []string{"command-api", "worker", "projector", "query-api"}
	for range *kills {
		// Let some work happen between kills.
		target := total.Load() + int64(20+rng.IntN(60))
		waitFor(t, 30*time.Second, func() bool { return total.Load() >= target })
		r := roles[names[rng.IntN(len(names))]]
		r.p.kill()
		r.p = start(t, dir, r.name, "--addr", r.addr, "--lock-duration", "2s")
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d commands accepted across %d kills", total.Load(), *kills)

	var all []string
	for _, ops := range sent {
		all = append(all, ops...)
	}
	for op, body := range waitOperations(t, queryURL, all, 90*time.Second) {
		if body.Status != "Succeeded" {
			t.Errorf("operation %s: %s %+v, want Succeeded", op, body.Status, body.Error)
		}
	}
	for id, ops := range sent {
		checkOrder(t, queryURL, id, ops)
	}
	compareProjection(t, filepath.Join(dir, "write.db"), queryURL)
}

// checkOrder requires every accepted operation exactly once in the
// shipment's history, in the order sent, and no operation twice. Entries of
// operations that never got a 202 may appear (a request whose answer was lost
// when the command API was killed), each at most once.
func checkOrder(t *testing.T, queryURL, id string, accepted []string) {
	t.Helper()
	var h historyBody
	if status := getJSON(t, queryURL+"/v1/shipments/"+id+"/history", &h); status != http.StatusOK {
		t.Errorf("history of %s: HTTP %d", id, status)
		return
	}
	index := make(map[string]int, len(accepted))
	for i, op := range accepted {
		index[op] = i
	}
	seen, next := map[string]bool{}, 0
	for v, e := range h.Items {
		if e.Version != int64(v+1) {
			t.Errorf("%s: history entry %d has version %d", id, v, e.Version)
		}
		if seen[e.OperationID] {
			t.Errorf("%s: operation %s applied twice", id, e.OperationID)
		}
		seen[e.OperationID] = true
		i, ok := index[e.OperationID]
		if !ok {
			continue // its 202 was lost in a crash
		}
		if i != next {
			t.Errorf("%s: operation %s applied as the %d-th accepted command, want the %d-th (order)", id, e.OperationID, next, i)
			return
		}
		next++
	}
	if next != len(accepted) {
		t.Errorf("%s: %d of %d accepted commands applied (lost: %v)", id, next, len(accepted), accepted[next:])
	}
}

// compareProjection reads every live shipment from the write database file
// and requires the query API to return the same, field by field.
func compareProjection(t *testing.T, writeDB, queryURL string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+writeDB+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, recipient, destination, weight_grams, service, status, version FROM shipments WHERE deleted = 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct {
		ID, Recipient, Destination string
		WeightGrams                int
		Service, Status            string
		Version                    int64
	}
	var want []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.ID, &r.Recipient, &r.Destination, &r.WeightGrams, &r.Service, &r.Status, &r.Version); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var got []row
	cursor := ""
	for {
		var page struct {
			Items      []row
			NextCursor string
		}
		url := queryURL + "/v1/shipments?limit=200"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		if status := getJSON(t, url, &page); status != http.StatusOK {
			t.Fatalf("list: HTTP %d", status)
		}
		got = append(got, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("projection (%d shipments) differs from the write database (%d shipments)", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("first difference: projection %+v, write DB %+v", got[i], want[i])
				break
			}
		}
	}
}
