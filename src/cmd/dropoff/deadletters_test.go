package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/auth/authtest"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// dropoff deadletters lists, shows, resubmits and purges a running
// process's dead letters through its admin API.
func TestDeadLettersCommand(t *testing.T) {
	s := startSystem(t)
	id := poisonOne(t, s)
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), append(append([]string{"deadletters"}, args...), "--url", s.URL),
			func(string) string { return "" }, &out, io.Discard)
		return out.String(), err
	}
	var listed string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(listed, id) { // the worker dead-letters it soon after it is sent
		if time.Now().After(deadline) {
			t.Fatalf("deadletters list never showed %s:\n%s", id, listed)
		}
		time.Sleep(10 * time.Millisecond) // polling, with the deadline above
		var err error
		if listed, err = cli("list"); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(listed, command.ReasonUnknownKind) {
		t.Errorf("list: %s; want the reason %s", listed, command.ReasonUnknownKind)
	}
	seq := strings.Fields(strings.Split(strings.TrimSpace(listed), "\n")[1])[0]
	if out, err := cli("show", seq); err != nil || !strings.Contains(out, `"messageId": "`+id+`"`) {
		t.Errorf("show %s: %v\n%s", seq, err, out)
	}
	if _, err := cli("show", "999999"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("show of a missing dead letter: %v, want the API's 404", err)
	}
	if out, err := cli("resubmit", seq); err != nil || !strings.Contains(out, "resubmitted") {
		t.Errorf("resubmit %s: %v\n%s", seq, err, out)
	}
	if _, err := cli("purge"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("purge without --yes: %v, want a refusal", err)
	}
	if out, err := cli("purge", "--yes"); err != nil || !strings.Contains(out, "purged") {
		t.Errorf("purge --yes: %v\n%s", err, out)
	}
	if _, err := strconv.Atoi(seq); err != nil {
		t.Errorf("the list's first column %q is not a sequence number", seq)
	}
}

// poisonOne puts a message no worker can process on the system's queue and
// returns its id.
func poisonOne(t *testing.T, s *system) string {
	t.Helper()
	q, err := sqlitebus.Open(filepath.Join(s.dir, "queue.db"), sqlitebus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := operation.NewID()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = q.Send(ctx, bus.Message{ID: id, SessionID: "poisoned", Subject: "shipment.explode", ContentType: "application/json",
		Properties: map[string]string{command.PropSchemaVersion: command.SchemaVersion, command.PropOperationID: id},
		Body:       []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The command sends the token; without it, or with one that lacks the admin
// role, it says what the API said.
func TestDeadLettersCommandSendsTheToken(t *testing.T) {
	is := authtest.NewIssuer(t)
	s := startSystem(t, "--auth-issuer", is.URL, "--auth-jwks-url", is.JWKS, "--auth-audience", authtest.Audience)
	cli := func(env map[string]string) error {
		return run(t.Context(), []string{"deadletters", "list", "--url", s.URL},
			func(k string) string { return env[k] }, io.Discard, io.Discard)
	}
	if err := cli(nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("list without a token: %v, want the API's 401", err)
	}
	if err := cli(map[string]string{"DROPOFF_TOKEN": is.Token(auth.RoleRead)}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("list with a reader's token: %v, want the API's 403", err)
	}
	if err := cli(map[string]string{"DROPOFF_TOKEN": is.Token(auth.RoleAdmin)}); err != nil {
		t.Errorf("list with an admin's token: %v", err)
	}
}
