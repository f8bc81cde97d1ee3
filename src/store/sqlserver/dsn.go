package sqlserver

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// A DSN is a go-mssqldb URL:
//
//	sqlserver://user:password@host:1433?database=dropoff_write            SQL login (the devcontainer)
//	sqlserver://x.database.windows.net?database=write&fedauth=ActiveDirectoryDefault   Entra ID (Azure)
//
// With fedauth the connection authenticates through azidentity. The
// ActiveDirectoryDefault workflow is azidentity's DefaultAzureCredential: it
// tries the environment, workload identity, managed identity (AZURE_CLIENT_ID
// picks a user-assigned one: what a container app sets), then the Azure CLI,
// Azure Developer CLI and PowerShell logins. ActiveDirectoryAzureDeveloperCli
// uses `azd auth login` only, which suits a post-provision step (dbinit).

// checkDSN accepts only the URL form: it is the one form whose parameters we
// can read back (fedauth, database) without reimplementing the driver's parser.
func checkDSN(dsn string) (*url.URL, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse echoes the input, which may hold a password: keep it out.
		return nil, errors.New("sqlserver: the DSN is not a valid URL")
	}
	if u.Scheme != "sqlserver" {
		return nil, fmt.Errorf("sqlserver: DSN scheme %q, want sqlserver://", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("sqlserver: the DSN names no host")
	}
	return u, nil
}

// param returns a URL query parameter by name, ignoring case as the driver does.
func param(u *url.URL, name string) string {
	for k, v := range u.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// usesFedAuth reports whether the DSN asks for Microsoft Entra ID
// authentication (a fedauth parameter), which needs the azuread connector.
func usesFedAuth(dsn string) (bool, error) {
	u, err := checkDSN(dsn)
	if err != nil {
		return false, err
	}
	return param(u, "fedauth") != "", nil
}

// withDatabase returns dsn pointing at database name, replacing any database
// parameter it had. The tests use it to open the databases they create.
func withDatabase(dsn, name string) (string, error) {
	u, err := checkDSN(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "database") {
			q.Del(k)
		}
	}
	q.Set("database", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
