package sqlserver

import (
	"context"
	"database/sql/driver"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingConnector hands out connections that do nothing, counting how many
// it made: enough to watch database/sql's pool without a server.
type countingConnector struct{ made atomic.Int64 }

func (c *countingConnector) Connect(context.Context) (driver.Conn, error) {
	c.made.Add(1)
	return idleConn{}, nil
}

func (c *countingConnector) Driver() driver.Driver { return nil }

type idleConn struct{}

func (idleConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (idleConn) Close() error                        { return nil }
func (idleConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }

// A pool sized for n sessions keeps n connections between bursts, so the
// second burst connects nothing: with database/sql's default of two idle
// connections, each burst of 64 transactions would open 62 new connections,
// each a TCP connect, a TLS handshake and an Entra ID sign-in.
func TestPoolKeepsItsConnections(t *testing.T) {
	const n = 24
	c := &countingConnector{}
	db := newPool(c, n)
	defer db.Close()
	burst := func() {
		t.Helper()
		var wg sync.WaitGroup
		held := make(chan struct{})
		for range n {
			wg.Go(func() {
				conn, err := db.Conn(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				<-held // all n at once
				_ = conn.Close()
			})
		}
		deadline := time.Now().Add(10 * time.Second)
		for db.Stats().InUse < n && !t.Failed() {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d connections taken after 10s", db.Stats().InUse, n)
			}
			runtime.Gosched()
		}
		close(held)
		wg.Wait()
	}
	burst()
	if got := c.made.Load(); got != n {
		t.Fatalf("first burst made %d connections, want %d", got, n)
	}
	if idle := db.Stats().Idle; idle != n {
		t.Errorf("idle connections after the burst = %d, want %d", idle, n)
	}
	burst()
	if got := c.made.Load(); got != n {
		t.Errorf("after a second burst %d connections were made in all, want %d (none new)", got, n)
	}
	if max := db.Stats().MaxOpenConnections; max != n {
		t.Errorf("MaxOpenConnections = %d, want %d", max, n)
	}
}
