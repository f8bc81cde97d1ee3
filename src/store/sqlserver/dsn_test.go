package sqlserver

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestSignInOf(t *testing.T) {
	tests := []struct {
		dsn     string
		cred    bool
		want    signIn
		wantErr bool
	}{
		{"sqlserver://sa:secret@localhost:1433?database=write", true, signInLogin, false},
		{"sqlserver://x.database.windows.net?database=write&fedauth=ActiveDirectoryDefault", true, signInFedAuth, false},
		{"sqlserver://x.database.windows.net?FedAuth=ActiveDirectoryAzureDeveloperCli", false, signInFedAuth, false},
		{"sqlserver://x.database.windows.net?fedauth=", false, signInLogin, false},
		{"sqlserver://x.database.windows.net?database=write", true, signInToken, false},
		{"sqlserver://x.database.windows.net?database=write", false, signInLogin, false},
		{"sqlserver://x.database.windows.net?database=write&user+id=sa", true, signInLogin, false},
		{"postgres://localhost/db", false, signInLogin, true},
		{"sqlserver://?database=write", false, signInLogin, true},
		{"server=localhost;user id=sa", false, signInLogin, true},
		// The driver checks fedauth ignoring case but picks the credential
		// by exact match: another case would fall back to the default one.
		{"sqlserver://x.database.windows.net?fedauth=activedirectoryazcli", false, signInLogin, true},
		{"sqlserver://x.database.windows.net?fedauth=ActiveDirectoryMsi", false, signInLogin, true},
		{"sqlserver://x.database.windows.net?fedauth=ActiveDirectoryMSI", false, signInFedAuth, false},
		{"sqlserver://x.database.windows.net?fedauth=Kerberos", false, signInLogin, true},
	}
	for _, tt := range tests {
		u, err := checkDSN(tt.dsn)
		if (err != nil) != tt.wantErr {
			t.Errorf("checkDSN(%q): error %v, want error %v", tt.dsn, err, tt.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadDSN) {
				t.Errorf("checkDSN(%q) = %v, want ErrBadDSN", tt.dsn, err)
			}
			continue
		}
		if got := signInOf(u, tt.cred); got != tt.want {
			t.Errorf("signInOf(%q, credential %v) = %v, want %v", tt.dsn, tt.cred, got, tt.want)
		}
	}
}

func TestCheckFedAuthNamesTheSpelling(t *testing.T) {
	_, err := checkDSN("sqlserver://x.database.windows.net?fedauth=activeDirectoryDefault")
	if !errors.Is(err, ErrBadDSN) || !strings.Contains(err.Error(), "write it ActiveDirectoryDefault") {
		t.Errorf("got %v, want ErrBadDSN naming ActiveDirectoryDefault", err)
	}
	// Every spelling accepted is one the driver's connector accepts too.
	for _, w := range fedAuthWorkflows {
		if err := checkFedAuth(w); err != nil {
			t.Errorf("checkFedAuth(%s): %v", w, err)
		}
	}
}

func TestCheckDSNKeepsPasswordOutOfErrors(t *testing.T) {
	_, err := checkDSN("sqlserver://sa:p%zzsecret@localhost")
	if err == nil {
		t.Fatal("checkDSN accepted a URL with a bad escape")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		dsn, name string
		wantQuery url.Values
	}{
		{"sqlserver://sa:pw@localhost:1433", "dropoff_1", url.Values{"database": {"dropoff_1"}}},
		{"sqlserver://sa:pw@localhost:1433?Database=master&encrypt=disable", "dropoff_2",
			url.Values{"database": {"dropoff_2"}, "encrypt": {"disable"}}},
		{"sqlserver://sa:pw@localhost?database=master&DATABASE=other", "d",
			url.Values{"database": {"d"}}},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, tt.name)
		if err != nil {
			t.Errorf("withDatabase(%q): %v", tt.dsn, err)
			continue
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("withDatabase(%q) = %q, not a URL: %v", tt.dsn, got, err)
		}
		if q := u.Query(); q.Encode() != tt.wantQuery.Encode() {
			t.Errorf("withDatabase(%q) query = %v, want %v", tt.dsn, q, tt.wantQuery)
		}
		if pw, _ := u.User.Password(); u.User.Username() != "sa" || pw != "pw" {
			t.Errorf("withDatabase(%q) = %q lost the credentials", tt.dsn, got)
		}
	}
}

// connector must hand a fedauth DSN to the azuread connector: only that one
// knows the workflows, and it refuses an unknown one, which the plain
// connector would ignore.
func TestConnectorRoutesFedAuth(t *testing.T) {
	if _, err := connector("sqlserver://localhost?database=write", nil); err != nil {
		t.Errorf("connector(SQL login): %v", err)
	}
	if _, err := connector("sqlserver://x.database.windows.net?fedauth=ActiveDirectoryDefault", nil); err != nil {
		t.Errorf("connector(ActiveDirectoryDefault): %v", err)
	}
	if _, err := connector("sqlserver://x.database.windows.net?fedauth=NoSuchWorkflow", nil); err == nil {
		t.Error("connector(fedauth=NoSuchWorkflow): no error, want the azuread connector's refusal")
	} else if !errors.Is(err, ErrBadDSN) {
		t.Errorf("connector(fedauth=NoSuchWorkflow) = %v, want ErrBadDSN", err)
	}
}
