package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/auth/authtest"
	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// TestAuthEndToEnd runs Dropoff with token checking on and drives it as
// clients with different roles would: a refused command is never applied,
// an accepted one is, and reading needs the read role.
func TestAuthEndToEnd(t *testing.T) {
	is := authtest.NewIssuer(t)
	s := startSystem(t, "--auth-issuer", is.URL, "--auth-jwks-url", is.JWKS, "--auth-audience", authtest.Audience)
	sender, reader := authtest.Bearer(is.Token(auth.RoleSend)), authtest.Bearer(is.Token(auth.RoleRead))
	body := `{"recipient":"Ada","destination":"London","weightGrams":10,"service":"standard"}`

	if r := s.do(t, "PUT", "/v1/shipments/refused", body); r.Status != http.StatusUnauthorized {
		t.Fatalf("PUT without a token: %d %v, want 401", r.Status, r.Body)
	}
	if r := s.do(t, "PUT", "/v1/shipments/refused", body, "Authorization", reader); r.Status != http.StatusForbidden {
		t.Fatalf("PUT with a reader's token: %d %v, want 403", r.Status, r.Body)
	}
	op := s.command(t, "PUT", "accepted", body, "Authorization", sender)

	if r := s.do(t, "GET", "/v1/operations/"+op, "", "Authorization", sender); r.Status != http.StatusForbidden {
		t.Errorf("GET with a sender's token: %d, want 403", r.Status)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do(t, "GET", "/v1/operations/"+op, "", "Authorization", reader)
		if r.Status == http.StatusOK && r.Body["status"] == "Succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation did not succeed within 20s: %d %v", r.Status, r.Body)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with the deadline above
	}
	if r := s.do(t, "GET", "/v1/shipments/accepted", "", "Authorization", reader); r.Status != http.StatusOK {
		t.Errorf("GET the accepted shipment: %d", r.Status)
	}
	// The refused commands never reached the queue: nothing was applied for them.
	if r := s.do(t, "GET", "/v1/shipments/refused", "", "Authorization", reader); r.Status != http.StatusNotFound {
		t.Errorf("GET the refused shipment: %d %v, want 404", r.Status, r.Body)
	}
}

// TestOpenRefusesAnOpenAPIBeyondLoopback: with no token check configured, a
// process serving commands or queries on a non-loopback address does not
// start, says what to set, and creates nothing; told it may run open, or
// given a token check, it starts. A worker or projector (probes and metrics
// only) may listen anywhere.
func TestOpenRefusesAnOpenAPIBeyondLoopback(t *testing.T) {
	is := authtest.NewIssuer(t)
	for _, tt := range []struct {
		name   string
		args   []string
		refuse bool
	}{
		{"serve, open", []string{"serve"}, true},
		{"command-api, open", []string{"command-api"}, true},
		{"query-api, open", []string{"query-api"}, true},
		{"serve, allow-anonymous", []string{"serve", "--allow-anonymous"}, false},
		{"serve, auth", []string{"serve", "--auth-issuer", is.URL, "--auth-jwks-url", is.JWKS, "--auth-audience", authtest.Audience}, false},
		{"worker, open", []string{"worker"}, false},
		{"projector, open", []string{"projector"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append(tt.args, "--addr", "0.0.0.0:0", "--data-dir", dir)
			logs := &logSink{}
			c, err := parseConfig(args[0], args[1:], func(string) string { return "" }, logs)
			if err != nil {
				t.Fatal(err)
			}
			m := newMain(c, newLogger(c, logs), rolesOf(args[0], c.Mode), telemetry.Tracing{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err = m.Open(ctx)
			if tt.refuse {
				if err == nil || !strings.Contains(err.Error(), "DROPOFF_AUTH_TENANT_ID") || !strings.Contains(err.Error(), "DROPOFF_ALLOW_ANONYMOUS") {
					t.Fatalf("Open = %v; want a refusal naming what to set", err)
				}
				if entries, _ := os.ReadDir(dir); len(entries) > 0 {
					t.Errorf("a refused start created %d files in the data directory", len(entries))
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			select {
			case <-m.Ready():
			case <-m.Done():
				t.Fatalf("exited: %v\n%s", m.Wait(), logs)
			case <-time.After(30 * time.Second):
				t.Fatal("not ready within 30s")
			}
			cancel()
			if err := m.Wait(); err != nil && ctx.Err() == nil {
				t.Errorf("Wait: %v", err)
			}
		})
	}
}

// TestAuthSettings: settings that do not make one token check are refused.
func TestAuthSettings(t *testing.T) {
	for _, args := range [][]string{
		{"--auth-audience", "x"},
		{"--auth-tenant-id", "t"},
		{"--auth-issuer", "https://i/v2.0", "--auth-audience", "x"},
		{"--auth-tenant-id", "t", "--auth-audience", "x", "--auth-issuer", "https://i"},
		{"--auth-issuer", "https://i", "--auth-audience", "x", "--auth-jwks-url", "not a url"},
		{"--auth-tenant-id", "t", "--auth-audience", "x", "--auth-role-send", ""},
		{"--lab-for-admins"},
	} {
		if _, err := parseConfig("serve", args, func(string) string { return "" }, &logSink{}); err == nil {
			t.Errorf("parseConfig(%q) = nil error", args)
		}
	}
	c, err := parseConfig("serve", []string{"--auth-tenant-id", "t", "--auth-audience", "x"}, func(string) string { return "" }, &logSink{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, on := authConfig(c); !on || cfg.Issuer != "https://login.microsoftonline.com/t/v2.0" {
		t.Errorf("authConfig = %+v, %v", cfg, on)
	}
}

// TestLoadSendsTheToken: the load tool drives a Dropoff that checks tokens
// with DROPOFF_TOKEN, and verifies the run (which reads as well as sends).
func TestLoadSendsTheToken(t *testing.T) {
	is := authtest.NewIssuer(t)
	s := startSystem(t, "--auth-issuer", is.URL, "--auth-jwks-url", is.JWKS, "--auth-audience", authtest.Audience)
	args := []string{"load", "--target", s.URL, "--duration", "1s", "--rate", "50", "--shipments", "10", "--drain-timeout", "20s"}
	env := map[string]string{"DROPOFF_TOKEN": is.Token(auth.RoleSend, auth.RoleRead)}
	var out strings.Builder
	if err := run(t.Context(), args, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("dropoff load with a token: %v\n%s", err, &out)
	}
	out.Reset()
	args = append(args, "--drain-timeout", "1s") // nothing is accepted, nothing to wait for
	if err := run(t.Context(), args, func(string) string { return "" }, &out, &out); err == nil {
		t.Errorf("dropoff load without a token against a Dropoff that checks them: no error\n%s", &out)
	}
}
