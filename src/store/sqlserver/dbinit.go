package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// InitConfig is what `dropoff dbinit` needs to prepare the two databases of a
// deployment: where they are, and which managed identity each role runs as.
type InitConfig struct {
	// WriteDSN and ReadDSN connect as the server's Entra administrator, e.g.
	// sqlserver://x.database.windows.net?database=write&fedauth=ActiveDirectoryAzureDeveloperCli
	WriteDSN, ReadDSN string
	// The managed identities' client ids (GUIDs). The command API writes no
	// database, so CommandClientID gets no user; when set, Init checks that no
	// user maps to it and warns if one does.
	WorkerClientID, ProjectorClientID, QueryClientID, CommandClientID string
	// The database user names, e.g. the identities' names.
	WorkerName, ProjectorName, QueryName string
	// Credential signs in as the administrator for DSNs that name no user
	// and no fedauth workflow (see Config.Credential): in a deployment, the
	// managed identity that is the server's Entra administrator.
	Credential azcore.TokenCredential
}

// Init prepares a deployment's databases, idempotently: it applies the
// migrations of both, then creates a database user for each role's managed
// identity and grants it, table by table, only what the role's statements
// use (the grants below; a test reads every statement of this package and
// checks its role holds what it needs):
//
//	                write database                      projection database
//	worker          its tables; DELETE only where       —
//	                retention trims (operations, keys);
//	                the feed: INSERT only
//	projector       SELECT on the feed and its identity, SELECT, INSERT, UPDATE, DELETE
//	                DELETE on the feed (retention)       as each table needs
//	query API       —                                   SELECT
//	command API     —                                   —
//
// Every role may read schema_migrations: it checks the schema is up to date
// before it starts. The change feed needs nothing enabled: it is a rowversion
// column and MIN_ACTIVE_ROWVERSION(), which any reader may use. Schema-wide
// grants of earlier versions are revoked. Run it as the Entra administrator
// (after provisioning, say); running it again changes nothing.
func Init(ctx context.Context, cfg InitConfig, logger *slog.Logger) error {
	logger = orDiscard(logger)
	plans, err := initPlans(cfg)
	if err != nil {
		return err
	}
	for _, p := range plans {
		if err := p.run(ctx, logger); err != nil {
			return fmt.Errorf("dbinit %s database: %w", p.set, err)
		}
	}
	return nil
}

// initPlan is what Init does to one database.
type initPlan struct {
	set        string // writeSet or projectionSet
	dsn        string // as the administrator
	cred       azcore.TokenCredential
	statements []string // users and grants, in order
	forbidden  []string // queries that must find no principal (the command API)
	forbidNote string
}

// initPlans validates cfg and builds the T-SQL for both databases; no
// connection is made, so the tests read exactly what would run.
func initPlans(cfg InitConfig) ([]initPlan, error) {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"WriteDSN", cfg.WriteDSN}, {"ReadDSN", cfg.ReadDSN},
		{"WorkerClientID", cfg.WorkerClientID}, {"ProjectorClientID", cfg.ProjectorClientID},
		{"QueryClientID", cfg.QueryClientID},
		{"WorkerName", cfg.WorkerName}, {"ProjectorName", cfg.ProjectorName}, {"QueryName", cfg.QueryName},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("sqlserver: dbinit: %s is required", f.name))
		}
	}
	errs = append(errs, checkPairs(cfg)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	write := initPlan{set: writeSet, dsn: cfg.WriteDSN, cred: cfg.Credential}
	read := initPlan{set: projectionSet, dsn: cfg.ReadDSN, cred: cfg.Credential}
	steps := []struct {
		plan     *initPlan
		name, id string
		grants   []tableGrant
	}{
		{&write, cfg.WorkerName, cfg.WorkerClientID, workerWriteGrants},
		{&write, cfg.ProjectorName, cfg.ProjectorClientID, projectorWriteGrants},
		{&read, cfg.ProjectorName, cfg.ProjectorClientID, projectorProjectionGrants},
		{&read, cfg.QueryName, cfg.QueryClientID, queryProjectionGrants},
		{&write, cfg.QueryName, cfg.QueryClientID, queryWriteGrants},
	}
	for _, s := range steps {
		stmts, err := userSQL(s.name, s.id, s.grants)
		if err != nil {
			return nil, fmt.Errorf("dbinit: user %s: %w", s.name, err)
		}
		s.plan.statements = append(s.plan.statements, stmts...)
	}
	if cfg.CommandClientID != "" && !sharedIdentity(cfg) {
		q, err := principalBySIDSQL(cfg.CommandClientID)
		if err != nil {
			return nil, fmt.Errorf("dbinit: command API: %w", err)
		}
		for _, p := range []*initPlan{&write, &read} {
			p.forbidden = append(p.forbidden, q)
			p.forbidNote = "the command API's identity has a database user; it needs none (remove it with DROP USER)"
		}
	}
	return []initPlan{write, read}, nil
}

// The grants of each role's user, by database. Where a role shares one
// identity with another, its user gets the union.
var (
	workerWriteGrants = []tableGrant{
		{table: "schema_migrations", perms: []string{"SELECT"}},
		{table: "shipments", perms: []string{"SELECT", "INSERT", "UPDATE"}},
		{table: "operations", perms: []string{"SELECT", "INSERT", "UPDATE", "DELETE"}}, // DELETE: retention
		{table: "idempotency_keys", perms: []string{"SELECT", "INSERT", "DELETE"}},     // DELETE: retention
		{table: "change_feed", perms: []string{"INSERT"}},
	}
	projectorWriteGrants = []tableGrant{
		{table: "schema_migrations", perms: []string{"SELECT"}},
		{table: "change_feed", perms: []string{"SELECT", "DELETE"}}, // DELETE: retention, below the checkpoint
		{table: "feed_identity", perms: []string{"SELECT"}},
	}
	projectorProjectionGrants = []tableGrant{
		{table: "schema_migrations", perms: []string{"SELECT"}},
		{table: "shipments", perms: []string{"SELECT", "INSERT", "UPDATE", "DELETE"}},
		{table: "history", perms: []string{"SELECT", "INSERT"}},
		{table: "operations", perms: []string{"SELECT", "INSERT", "UPDATE", "DELETE"}}, // DELETE: retention
		{table: "projector_state", perms: []string{"SELECT", "UPDATE"}},
	}
	// The query API reads how far the feed reaches and when its next entry
	// committed, to tell the projection's true lag (lag.go): two columns,
	// none of the commands' data.
	queryWriteGrants = []tableGrant{
		{table: "schema_migrations", perms: []string{"SELECT"}},
		{table: "change_feed", perms: []string{"SELECT"}, columns: []string{"position", "committed_at"}},
	}
	queryProjectionGrants = []tableGrant{
		{table: "schema_migrations", perms: []string{"SELECT"}},
		{table: "shipments", perms: []string{"SELECT"}},
		{table: "history", perms: []string{"SELECT"}},
		{table: "operations", perms: []string{"SELECT"}},
		{table: "projector_state", perms: []string{"SELECT"}},
	}
)

// userSQL creates a role's user, takes back any schema-wide grant and grants
// it each table's permissions.
func userSQL(name, clientID string, grants []tableGrant) ([]string, error) {
	create, err := createUserSQL(name, clientID)
	if err != nil {
		return nil, err
	}
	revoke, err := revokeSchemaSQL(name)
	if err != nil {
		return nil, err
	}
	out := []string{create, revoke}
	for _, g := range grants {
		grant, err := grantSQL(name, g)
		if err != nil {
			return nil, err
		}
		out = append(out, grant)
	}
	return out, nil
}

// checkPairs requires names and client ids to pair one to one: roles may
// share one identity (same name, same client id), but one name cannot stand
// for two identities, nor one identity go by two names.
func checkPairs(cfg InitConfig) []error {
	var errs []error
	idOf, nameOf := map[string]string{}, map[string]string{}
	for _, r := range [][2]string{
		{cfg.WorkerName, cfg.WorkerClientID}, {cfg.ProjectorName, cfg.ProjectorClientID}, {cfg.QueryName, cfg.QueryClientID},
	} {
		name, id := r[0], strings.ToLower(r[1])
		if prev, ok := idOf[name]; ok && prev != id {
			errs = append(errs, fmt.Errorf("sqlserver: dbinit: user name %q is given two client ids", name))
		}
		if prev, ok := nameOf[id]; ok && prev != name {
			errs = append(errs, fmt.Errorf("sqlserver: dbinit: client id %s is given two user names", r[1]))
		}
		idOf[name], nameOf[id] = id, name
	}
	return errs
}

// sharedIdentity reports whether the command API runs as one of the other
// roles' identities, which then legitimately has a user.
func sharedIdentity(cfg InitConfig) bool {
	for _, id := range []string{cfg.WorkerClientID, cfg.ProjectorClientID, cfg.QueryClientID} {
		if strings.EqualFold(id, cfg.CommandClientID) {
			return true
		}
	}
	return false
}

// run connects, migrates, creates the users and grants in one transaction,
// and checks the forbidden principals.
func (p initPlan) run(ctx context.Context, logger *slog.Logger) error {
	db, err := OpenDB(ctx, p.dsn, Config{Credential: p.cred, MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrate(ctx, db, p.set, defaultMigrationLockTimeout, logger); err != nil {
		return err
	}
	if err := execAll(ctx, db, p.statements); err != nil {
		return err
	}
	logger.Info("dbinit: users and grants in place", "database", p.set, "statements", len(p.statements))
	for _, q := range p.forbidden {
		var name string
		err := db.QueryRowContext(ctx, q).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check principals: %w", err)
		}
		logger.Warn("dbinit: "+p.forbidNote, "database", p.set, "user", name)
	}
	return nil
}

// execAll runs statements in one transaction: all of them or none.
func execAll(ctx context.Context, db *sql.DB, statements []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range statements {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return tx.Commit()
}
