//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A client that opens the event stream and never reads it does not slow
// the pipeline: a burst is applied in full while it hangs on, and the
// server drops its stream (the hub never waits for a subscriber).
func TestStuckEventStreamNeverBlocksTheWorker(t *testing.T) {
	s := startSystem(t)
	// A tiny receive buffer, so that the server's writes to this client stop
	// soon and its events pile up in the hub.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")

	labCLI(t, s, "burst", "--commands", "10000", "--shipments", "10", "--prefix", "stuck")
	for j := range 10 {
		id := fmt.Sprintf("stuck-%03d", j)
		poll(t, id+" at version 1000", func() bool {
			r := s.do(t, "GET", "/v1/shipments/"+id, "")
			return r.Status == http.StatusOK && r.Body["version"] == 1000.0
		})
	}
	// Now read what the stream holds: it ends (the server dropped the
	// stream), instead of going on with every event of the burst.
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the stream's response: %v", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("the stuck stream did not end within 20s (read %d bytes): %v", n, err)
	}
	if events := 3 * 10000; n > int64(events)*150 {
		t.Errorf("the stuck stream carried %d bytes, as many as the whole burst's events; want it dropped early", n)
	}
	t.Logf("the stuck stream ended after %d bytes", n)
}
