package sqlserver

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/microsoft/go-mssqldb/azuread"
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

// ErrBadDSN marks a DSN that cannot work however often it is tried: not a
// sqlserver:// URL, or parameters the driver refuses. Other errors from
// opening a store (the server unreachable, the schema not there yet) may pass.
var ErrBadDSN = errors.New("sqlserver: bad DSN")

// checkDSN accepts only the URL form: it is the one form whose parameters we
// can read back (fedauth, database) without reimplementing the driver's parser.
func checkDSN(dsn string) (*url.URL, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse echoes the input, which may hold a password: keep it out.
		return nil, fmt.Errorf("%w: not a valid URL", ErrBadDSN)
	}
	if u.Scheme != "sqlserver" {
		return nil, fmt.Errorf("%w: scheme %q, want sqlserver://", ErrBadDSN, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: no host", ErrBadDSN)
	}
	if err := checkFedAuth(param(u, "fedauth")); err != nil {
		return nil, err
	}
	return u, nil
}

// fedAuthWorkflows are the fedauth values the azuread driver knows.
var fedAuthWorkflows = []string{
	azuread.ActiveDirectoryDefault, azuread.ActiveDirectoryManagedIdentity, azuread.ActiveDirectoryMSI,
	azuread.ActiveDirectoryAzCli, azuread.ActiveDirectoryAzureDeveloperCli, azuread.ActiveDirectoryEnvironment,
	azuread.ActiveDirectoryWorkloadIdentity, azuread.ActiveDirectoryServicePrincipal, azuread.ActiveDirectoryApplication,
	azuread.ActiveDirectoryServicePrincipalAccessToken, azuread.ActiveDirectoryPassword,
	azuread.ActiveDirectoryIntegrated, azuread.ActiveDirectoryInteractive, azuread.ActiveDirectoryDeviceCode,
	azuread.ActiveDirectoryAzurePipelines, azuread.ActiveDirectoryClientAssertion, azuread.ActiveDirectoryOnBehalfOf,
}

// checkFedAuth accepts a fedauth value only as the driver spells it. The
// driver validates the value ignoring case but picks the credential by exact
// match, so "activedirectoryazcli" would pass its check and then sign in
// with DefaultAzureCredential, maybe as someone else.
func checkFedAuth(v string) error {
	if v == "" || slices.Contains(fedAuthWorkflows, v) {
		return nil
	}
	for _, w := range fedAuthWorkflows {
		if strings.EqualFold(v, w) {
			return fmt.Errorf("%w: fedauth=%s: write it %s, as the driver matches the case when it picks the credential", ErrBadDSN, v, w)
		}
	}
	return fmt.Errorf("%w: fedauth=%s is not a workflow the driver knows (%s)", ErrBadDSN, v, strings.Join(fedAuthWorkflows, ", "))
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

// signIn is how a connection signs in.
type signIn int

const (
	signInLogin   signIn = iota // a SQL login, or whatever the DSN says
	signInFedAuth               // the driver's fedauth workflow (azuread)
	signInToken                 // Entra ID tokens from Config.Credential
)

// signInOf reads the sign-in a DSN asks for: a fedauth parameter picks the
// driver's workflow; no user at all, when a credential is at hand, its
// tokens; anything else is left to the plain driver.
func signInOf(u *url.URL, haveCredential bool) signIn {
	switch {
	case param(u, "fedauth") != "":
		return signInFedAuth
	case haveCredential && u.User == nil && param(u, "user id") == "":
		return signInToken
	}
	return signInLogin
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
