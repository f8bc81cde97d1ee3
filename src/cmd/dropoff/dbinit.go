package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/dropoff-dev/dropoff/src/store/sqlserver"
)

// dbinitSettings are the inputs of `dropoff dbinit`, each a flag with an
// environment variable; azd's post-provision hook sets the variables from the
// Bicep outputs.
var dbinitSettings = []struct {
	name, env, usage string
	field            func(*sqlserver.InitConfig) *string
}{
	{"write-db", "DROPOFF_WRITE_DB", "write database URL, as the Entra administrator (sqlserver://…&fedauth=ActiveDirectoryAzureDeveloperCli)", func(c *sqlserver.InitConfig) *string { return &c.WriteDSN }},
	{"read-db", "DROPOFF_READ_DB", "projection database URL, as the Entra administrator", func(c *sqlserver.InitConfig) *string { return &c.ReadDSN }},
	{"worker-client-id", "DROPOFF_WORKER_CLIENT_ID", "client id of the worker's managed identity", func(c *sqlserver.InitConfig) *string { return &c.WorkerClientID }},
	{"worker-name", "DROPOFF_WORKER_IDENTITY_NAME", "database user name for the worker", func(c *sqlserver.InitConfig) *string { return &c.WorkerName }},
	{"projector-client-id", "DROPOFF_PROJECTOR_CLIENT_ID", "client id of the projector's managed identity", func(c *sqlserver.InitConfig) *string { return &c.ProjectorClientID }},
	{"projector-name", "DROPOFF_PROJECTOR_IDENTITY_NAME", "database user name for the projector", func(c *sqlserver.InitConfig) *string { return &c.ProjectorName }},
	{"query-client-id", "DROPOFF_QUERY_CLIENT_ID", "client id of the query API's managed identity", func(c *sqlserver.InitConfig) *string { return &c.QueryClientID }},
	{"query-name", "DROPOFF_QUERY_IDENTITY_NAME", "database user name for the query API", func(c *sqlserver.InitConfig) *string { return &c.QueryName }},
	{"command-client-id", "DROPOFF_COMMAND_CLIENT_ID", "client id of the command API's identity (checked to have no database user)", func(c *sqlserver.InitConfig) *string { return &c.CommandClientID }},
}

// dbinit prepares a deployment's SQL databases: migrations, and one database
// user per role's managed identity, created by SID (no Microsoft Graph
// lookup) and granted only what the role needs. Idempotent. In Azure it runs
// as a Container Apps job under the identity that is the SQL server's Entra
// administrator (bicep/dbinit.bicep), so no password exists anywhere.
func dbinit(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg sqlserver.InitConfig
	fs := flag.NewFlagSet("dropoff dbinit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, s := range dbinitSettings {
		fs.StringVar(s.field(&cfg), s.name, getenv(s.env), s.usage+" ("+s.env+")")
	}
	var auth config
	fs.StringVar(&auth.AzureAuth, "azure-auth", cmp.Or(getenv("DROPOFF_AZURE_AUTH"), authDefault), "default-credential or managed-identity, as for the roles (DROPOFF_AZURE_AUTH)")
	fs.StringVar(&auth.AzureClientID, "azure-client-id", getenv("AZURE_CLIENT_ID"), "client id of the managed identity that is the server's Entra administrator (AZURE_CLIENT_ID)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dbinit: unexpected argument %q", fs.Arg(0))
	}
	if err := checkAzureAuth(auth); err != nil {
		return fmt.Errorf("dbinit: %w", err)
	}
	if auth.AzureAuth == authManagedIdentity {
		for _, dsn := range []string{cfg.WriteDSN, cfg.ReadDSN} {
			if err := checkManagedDSN(dsn); err != nil {
				return fmt.Errorf("dbinit: %w", err)
			}
		}
	}
	cred, err := newCredential(auth)
	if err != nil {
		return fmt.Errorf("dbinit: %w", err)
	}
	cfg.Credential = cred
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := sqlserver.Init(ctx, cfg, logger); err != nil {
		return err
	}
	logger.Info("databases initialised")
	return nil
}

func printDBInitHelp(w io.Writer) {
	fmt.Fprintln(w, "\ndbinit flags (each falls back to its environment variable):")
	for _, s := range dbinitSettings {
		fmt.Fprintf(w, "  --%-30s %s\n  %-32s %s\n", s.name, s.env, "", s.usage)
	}
}
