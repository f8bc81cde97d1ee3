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
// identity and grants it only what the role needs:
//
//	                write database                   projection database
//	worker          SELECT, INSERT, UPDATE, DELETE   —
//	projector       SELECT (reads the change feed)   SELECT, INSERT, UPDATE, DELETE
//	query API       —                                SELECT
//	command API     —                                —
//
// The change feed needs nothing enabled: it is a rowversion column and
// MIN_ACTIVE_ROWVERSION(), which any reader may use. Run it as the Entra
// administrator (after provisioning, say); running it again changes nothing.
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
			errs = append(errs, fmt.Errorf("dbinit: %s is required", f.name))
		}
	}
	errs = append(errs, checkPairs(cfg)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	readWrite := []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	write := initPlan{set: writeSet, dsn: cfg.WriteDSN, cred: cfg.Credential}
	read := initPlan{set: projectionSet, dsn: cfg.ReadDSN, cred: cfg.Credential}
	steps := []struct {
		plan     *initPlan
		name, id string
		perms    []string
	}{
		{&write, cfg.WorkerName, cfg.WorkerClientID, readWrite},
		{&write, cfg.ProjectorName, cfg.ProjectorClientID, []string{"SELECT"}},
		{&read, cfg.ProjectorName, cfg.ProjectorClientID, readWrite},
		{&read, cfg.QueryName, cfg.QueryClientID, []string{"SELECT"}},
	}
	for _, s := range steps {
		create, err := createUserSQL(s.name, s.id)
		if err != nil {
			return nil, fmt.Errorf("dbinit: user %s: %w", s.name, err)
		}
		grant, err := grantSQL(s.name, s.perms...)
		if err != nil {
			return nil, fmt.Errorf("dbinit: user %s: %w", s.name, err)
		}
		s.plan.statements = append(s.plan.statements, create, grant)
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
			errs = append(errs, fmt.Errorf("dbinit: user name %q is given two client ids", name))
		}
		if prev, ok := nameOf[id]; ok && prev != name {
			errs = append(errs, fmt.Errorf("dbinit: client id %s is given two user names", r[1]))
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
