package sqlserver

import (
	"strings"
	"testing"
)

const (
	workerID    = "11111111-1111-1111-1111-111111111111"
	projectorID = "22222222-2222-2222-2222-222222222222"
	queryID     = "33333333-3333-3333-3333-333333333333"
	commandID   = "44444444-4444-4444-4444-444444444444"
)

func validInitConfig() InitConfig {
	return InitConfig{
		WriteDSN:          "sqlserver://x.database.windows.net?database=write&fedauth=ActiveDirectoryAzureDeveloperCli",
		ReadDSN:           "sqlserver://x.database.windows.net?database=read&fedauth=ActiveDirectoryAzureDeveloperCli",
		WorkerClientID:    workerID,
		ProjectorClientID: projectorID,
		QueryClientID:     queryID,
		CommandClientID:   commandID,
		WorkerName:        "id-worker",
		ProjectorName:     "id-projector",
		QueryName:         "id-query",
	}
}

// The grants table of Init's doc comment, as the statements it runs.
func TestInitPlansGrantLeastPrivilege(t *testing.T) {
	plans, err := initPlans(validInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 || plans[0].set != writeSet || plans[1].set != projectionSet {
		t.Fatalf("initPlans = %d plans, want write then projection", len(plans))
	}
	want := map[string][]string{
		writeSet: {
			"CREATE USER [id-worker]", "REVOKE SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[dbo] FROM [id-worker];",
			"GRANT SELECT ON OBJECT::[dbo].[schema_migrations] TO [id-worker];",
			"GRANT SELECT, INSERT, UPDATE ON OBJECT::[dbo].[shipments] TO [id-worker];",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON OBJECT::[dbo].[operations] TO [id-worker];",
			"GRANT SELECT, INSERT, DELETE ON OBJECT::[dbo].[idempotency_keys] TO [id-worker];",
			"GRANT INSERT ON OBJECT::[dbo].[change_feed] TO [id-worker];",
			"CREATE USER [id-projector]", "REVOKE SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[dbo] FROM [id-projector];",
			"GRANT SELECT ON OBJECT::[dbo].[schema_migrations] TO [id-projector];",
			"GRANT SELECT, DELETE ON OBJECT::[dbo].[change_feed] TO [id-projector];",
			"GRANT SELECT ON OBJECT::[dbo].[feed_identity] TO [id-projector];",
			"CREATE USER [id-query]", "REVOKE SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[dbo] FROM [id-query];",
			"GRANT SELECT ON OBJECT::[dbo].[schema_migrations] TO [id-query];",
			"GRANT SELECT ON OBJECT::[dbo].[change_feed] ([position], [committed_at]) TO [id-query];",
		},
		projectionSet: {
			"CREATE USER [id-projector]", "REVOKE SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[dbo] FROM [id-projector];",
			"GRANT SELECT ON OBJECT::[dbo].[schema_migrations] TO [id-projector];",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON OBJECT::[dbo].[shipments] TO [id-projector];",
			"GRANT SELECT, INSERT ON OBJECT::[dbo].[history] TO [id-projector];",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON OBJECT::[dbo].[operations] TO [id-projector];",
			"GRANT SELECT, UPDATE ON OBJECT::[dbo].[projector_state] TO [id-projector];",
			"CREATE USER [id-query]", "REVOKE SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[dbo] FROM [id-query];",
			"GRANT SELECT ON OBJECT::[dbo].[schema_migrations] TO [id-query];",
			"GRANT SELECT ON OBJECT::[dbo].[shipments] TO [id-query];",
			"GRANT SELECT ON OBJECT::[dbo].[history] TO [id-query];",
			"GRANT SELECT ON OBJECT::[dbo].[operations] TO [id-query];",
			"GRANT SELECT ON OBJECT::[dbo].[projector_state] TO [id-query];",
		},
	}
	for _, p := range plans {
		if len(p.statements) != len(want[p.set]) {
			t.Errorf("%s: %d statements, want %d:\n%s", p.set, len(p.statements), len(want[p.set]), strings.Join(p.statements, "\n"))
			continue
		}
		for i, w := range want[p.set] {
			if !strings.Contains(p.statements[i], w) {
				t.Errorf("%s statement %d = %q, want it to contain %q", p.set, i, p.statements[i], w)
			}
		}
		all := strings.Join(p.statements, "\n")
		for _, never := range []string{"db_owner", "ALTER", "CONTROL", "EXECUTE", "GRANT SELECT ON SCHEMA", "TO [id-worker] WITH"} {
			if strings.Contains(all, never) {
				t.Errorf("%s grants %s:\n%s", p.set, never, all)
			}
		}
		if len(p.forbidden) != 1 || !strings.Contains(p.forbidden[0], "0x44444444444444444444444444444444") {
			t.Errorf("%s: forbidden checks %q, want one for the command API's SID", p.set, p.forbidden)
		}
	}
	// In the write database the query API may read two columns of the feed
	// (its true lag) and nothing else: no shipment, operation or command data.
	for _, st := range plans[0].statements {
		if strings.Contains(st, "GRANT") && strings.Contains(st, "[id-query]") &&
			st != "GRANT SELECT ON OBJECT::[dbo].[schema_migrations] TO [id-query];" &&
			st != "GRANT SELECT ON OBJECT::[dbo].[change_feed] ([position], [committed_at]) TO [id-query];" {
			t.Errorf("the query API gets more than the feed's position and commit time in the write database: %s", st)
		}
	}
	if s := strings.Join(plans[1].statements, "\n"); strings.Contains(s, "id-worker") {
		t.Errorf("the worker gets a user in the projection database:\n%s", s)
	}
}

func TestInitPlansRejects(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*InitConfig)
		wantErr string
	}{
		{"missing write DSN", func(c *InitConfig) { c.WriteDSN = "" }, "WriteDSN is required"},
		{"missing query name", func(c *InitConfig) { c.QueryName = "" }, "QueryName is required"},
		{"worker id not a GUID", func(c *InitConfig) { c.WorkerClientID = "id-worker" }, "want a GUID"},
		{"command id not a GUID", func(c *InitConfig) { c.CommandClientID = "cmd" }, "want a GUID"},
		{"one name, two identities", func(c *InitConfig) { c.QueryName = "id-worker" }, "given two client ids"},
		{"one identity, two names", func(c *InitConfig) { c.QueryClientID = workerID }, "given two user names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validInitConfig()
			tt.change(&cfg)
			_, err := initPlans(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("initPlans: error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	_, err := initPlans(InitConfig{})
	if err == nil || strings.Count(err.Error(), "is required") != 8 {
		t.Errorf("initPlans(empty): %v, want all 8 missing settings named", err)
	}
}

func TestInitPlansSharedIdentity(t *testing.T) {
	cfg := validInitConfig()
	cfg.WorkerClientID, cfg.ProjectorClientID, cfg.QueryClientID, cfg.CommandClientID = workerID, workerID, workerID, workerID
	cfg.WorkerName, cfg.ProjectorName, cfg.QueryName = "id-app", "id-app", "id-app"
	plans, err := initPlans(cfg)
	if err != nil {
		t.Fatalf("one identity for every role: %v", err)
	}
	for _, p := range plans {
		if len(p.forbidden) != 0 {
			t.Errorf("%s: the command API shares the roles' identity, yet its user is forbidden", p.set)
		}
	}
}
