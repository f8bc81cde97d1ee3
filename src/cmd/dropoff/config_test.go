package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestHelpListsSubcommandsAndEnvironment(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		var out bytes.Buffer
		if err := run(t.Context(), []string{arg}, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatalf("dropoff %s: %v", arg, err)
		}
		for _, want := range []string{"serve", "command-api", "worker", "projector", "query-api", "migrate", "dbinit", "load", "deadletters", "lab",
			"--addr", "DROPOFF_ADDR", "--data-dir", "DROPOFF_DATA_DIR", "DROPOFF_SERVICEBUS_NAMESPACE", "DROPOFF_WRITE_DB", "DROPOFF_WORKER_CLIENT_ID"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("dropoff %s does not mention %s", arg, want)
			}
		}
	}
}

func TestConfigFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"DROPOFF_ADDR": "127.0.0.1:9999", "DROPOFF_WORKER_SESSIONS": "3"}
	c, err := parseConfig("serve", []string{"--worker-sessions", "5"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.WorkerSessions != 5 || c.DataDir != "./data" {
		t.Errorf("config = addr %s, sessions %d, data dir %s; want the environment's address, the flag's sessions, the default directory",
			c.Addr, c.WorkerSessions, c.DataDir)
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown subcommand", []string{"bogus"}, nil, "unknown subcommand"},
		{"unknown flag", []string{"serve", "--nope"}, nil, "not defined"},
		{"bad environment number", []string{"serve"}, map[string]string{"DROPOFF_WORKER_SESSIONS": "many"}, "DROPOFF_WORKER_SESSIONS"},
		{"bad environment duration", []string{"serve"}, map[string]string{"DROPOFF_LOCK_DURATION": "soon"}, "DROPOFF_LOCK_DURATION"},
		{"zero sessions", []string{"serve", "--worker-sessions", "0"}, nil, "worker-sessions"},
		{"bad log format", []string{"serve", "--log-format", "xml"}, nil, "log-format"},
		{"bad database URL", []string{"migrate", "--write-db", "postgres://x"}, nil, "sqlite:<path> or sqlserver://"},
		{"stray argument", []string{"serve", "extra"}, nil, "unexpected argument"},
		{"createdb on SQLite", []string{"createdb"}, nil, "not on SQL Server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append(tt.args, "--data-dir", dir)
			if tt.args[0] == "bogus" {
				args = tt.args
			}
			err := run(t.Context(), args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%v) = %v, want an error mentioning %q", tt.args, err, tt.want)
			}
		})
	}
}

// Every setting says which roles read it (a deployment gives each role
// exactly those), and no two share a flag or a variable.
func TestEverySettingNamesItsRoles(t *testing.T) {
	flags, envs := map[string]bool{}, map[string]bool{}
	for _, s := range settings {
		if s.roles == 0 || s.roles&^allRoles != 0 {
			t.Errorf("--%s: roles %b, want a non-empty set of the four", s.name, s.roles)
		}
		if flags[s.name] || envs[s.env] {
			t.Errorf("--%s (%s) is defined twice", s.name, s.env)
		}
		flags[s.name], envs[s.env] = true, true
	}
}
