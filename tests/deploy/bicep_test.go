package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus/servicebus"
	"github.com/dropoff-dev/dropoff/tests/bicep"
)

// Every template parses, and those azd and the tests rely on are there.
func TestBicepParses(t *testing.T) {
	ts := loadTemplates(t) // fails on any ERROR or MISSING node
	for _, rel := range []string{"main.bicep", "resources.bicep", "modules/app.bicep", "modules/dbinit.bicep",
		"modules/identities.bicep", "modules/servicebus.bicep", "modules/sql.bicep", "modules/registry.bicep",
		"modules/environment.bicep", "modules/monitoring.bicep"} {
		ts.file(t, rel)
	}
	if got := ts.file(t, "main.bicep").TargetScope; got != "subscription" {
		t.Errorf("main.bicep targetScope = %q, want subscription (it creates the resource group)", got)
	}
}

// No secret, key, password or connection string anywhere: not as a
// parameter, not read from a resource, not written as a literal.
func TestBicepHasNoSecrets(t *testing.T) {
	secretWord := regexp.MustCompile(`(?i)password|secret|sharedaccesskey|accountkey|connectionstring|instrumentationkey`)
	for _, f := range loadTemplates(t) {
		for _, name := range []string{"listKeys", "listConnectionStrings", "listCredentials", "listSecrets", "listKeyValue"} {
			for _, c := range f.Calls(name) {
				t.Errorf("%s: %s reads a secret: %s", c.Pos, name, c.Text)
			}
		}
		for _, p := range f.Params {
			if _, secure := p.Decorators.Find("secure"); secure || secretWord.MatchString(p.Name) {
				t.Errorf("%s: parameter %s holds a secret", p.Pos, p.Name)
			}
		}
		for _, o := range f.Outputs {
			if _, secure := o.Decorators.Find("secure"); secure || secretWord.MatchString(o.Name) {
				t.Errorf("%s: output %s holds a secret", o.Pos, o.Name)
			}
		}
		for _, s := range f.Strings() {
			if secretWord.MatchString(s.Text) && !strings.Contains(s.Text, " ") {
				t.Errorf("%s: string %q looks like a secret", s.Pos, s.Text)
			}
		}
		for _, r := range f.Resources {
			for _, path := range []string{"properties.administratorLoginPassword", "properties.configuration.secrets",
				"properties.template.volumes"} {
				if v, ok := r.Get(path); ok {
					t.Errorf("%s: %s %s = %v", r.Pos, r.Symbol, path, v)
				}
			}
		}
		for _, typ := range []string{"Microsoft.ServiceBus/namespaces/authorizationRules", "Microsoft.KeyVault/vaults/secrets"} {
			for _, r := range f.ResourcesOfType(typ) {
				t.Errorf("%s: %s is a key or a secret", r.Pos, typ)
			}
		}
	}
}

// The namespace is Standard (Basic has no sessions) and takes no keys; the
// queue is the one the code expects, property for property.
func TestBicepServiceBusQueueIsTheOneTheCodeExpects(t *testing.T) {
	f := loadTemplates(t).file(t, "modules/servicebus.bicep")
	ns := only(t, f, "Microsoft.ServiceBus/namespaces")
	want := map[string]bicep.Value{
		"sku.name":                     bicep.String("Standard"),
		"properties.disableLocalAuth":  bicep.Bool(true),
		"properties.minimumTlsVersion": bicep.String("1.2"),
	}
	expect(t, ns, want)

	q := only(t, f, "Microsoft.ServiceBus/namespaces/queues")
	s := servicebus.DefaultSettings()
	expect(t, q, map[string]bicep.Value{
		"name":                                           bicep.String(servicebus.DefaultQueue),
		"properties.requiresSession":                     bicep.Bool(true),
		"properties.requiresDuplicateDetection":          bicep.Bool(true),
		"properties.maxDeliveryCount":                    bicep.Number(s.MaxDeliveryCount),
		"properties.lockDuration":                        bicep.String(iso(s.LockDuration)),
		"properties.duplicateDetectionHistoryTimeWindow": bicep.String(iso(s.DuplicateWindow)),
		"properties.defaultMessageTimeToLive":            bicep.String(iso(s.DefaultTimeToLive)),
		"properties.deadLetteringOnMessageExpiration":    bicep.Bool(s.DeadLetterOnExpiration),
	})
}

// The SQL server signs in with Entra ID only, its administrator is the
// dbinit identity, and its firewall admits Azure services and nothing else.
func TestBicepSQLIsEntraOnly(t *testing.T) {
	ts := loadTemplates(t)
	f := ts.file(t, "modules/sql.bicep")
	server := only(t, f, "Microsoft.Sql/servers")
	expect(t, server, map[string]bicep.Value{
		"properties.minimalTlsVersion":                        bicep.String("1.2"),
		"properties.administrators.administratorType":         bicep.String("ActiveDirectory"),
		"properties.administrators.azureADOnlyAuthentication": bicep.Bool(true),
		"properties.administrators.principalType":             bicep.String("Application"),
	})
	for _, path := range []string{"properties.administratorLogin", "properties.administratorLoginPassword"} {
		if v, ok := server.Get(path); ok {
			t.Errorf("%s: %s = %v: a SQL login", server.Pos, path, v)
		}
	}
	for _, rule := range f.ResourcesOfType("Microsoft.Sql/servers/firewallRules") {
		expect(t, rule, map[string]bicep.Value{
			"properties.startIpAddress": bicep.String("0.0.0.0"),
			"properties.endIpAddress":   bicep.String("0.0.0.0"),
		})
	}
	if n := len(f.ResourcesOfType("Microsoft.Sql/servers/databases")); n != 2 {
		t.Errorf("%d databases, want 2 (write and projection)", n)
	}
	// The administrator is the dbinit identity, by its principal id.
	sql := ts.calls(t, "modules/sql.bicep")[0]
	if role, what, _ := identityRef(sql.Param("adminPrincipalId")); role != "dbinit" || what != "PrincipalId" {
		t.Errorf("SQL administrator = %v, want identities.outputs.dbinitPrincipalId", sql.Param("adminPrincipalId"))
	}
	if role, what, _ := identityRef(sql.Param("adminName")); role != "dbinit" || what != "Name" {
		t.Errorf("SQL administrator login = %v, want identities.outputs.dbinitName", sql.Param("adminName"))
	}
	for _, out := range []string{"writeDSN", "projectionDSN"} {
		o := f.Output(out)
		if o == nil {
			t.Fatalf("sql.bicep has no output %s", out)
		}
		raw := o.Value.(*bicep.Interp).Raw
		if !strings.HasPrefix(raw, "sqlserver://${host}?database=${") || strings.Contains(strings.ToLower(raw), "fedauth") ||
			strings.Contains(raw, "@") || !strings.Contains(raw, "encrypt=true") {
			t.Errorf("%s = %s: want sqlserver://<host>?database=…&encrypt=true, with no user and no fedauth", out, raw)
		}
	}
}

// only returns the one resource of type typ that f declares (an existing
// one, which f only refers to, does not count).
func only(t *testing.T, f *bicep.File, typ string) *bicep.Resource {
	t.Helper()
	var rs []*bicep.Resource
	for _, r := range f.ResourcesOfType(typ) {
		if !r.Existing {
			rs = append(rs, r)
		}
	}
	if len(rs) != 1 {
		t.Fatalf("%s: %d resources of type %s, want 1", f.Path, len(rs), typ)
	}
	return rs[0]
}

// expect checks literal properties of r.
func expect(t *testing.T, r *bicep.Resource, want map[string]bicep.Value) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		got, ok := r.Get(k)
		if !ok || got != want[k] {
			t.Errorf("%s: %s %s = %#v, want %#v", r.Pos, r.Symbol, k, got, want[k])
		}
	}
}

// iso writes d as the ISO 8601 duration Azure's templates use: P1D, PT1M, PT10M.
func iso(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("P%dD", d/(24*time.Hour))
	}
	s := "PT"
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "H"}, {time.Minute, "M"}, {time.Second, "S"}} {
		if n := d / u.unit; n > 0 {
			s += fmt.Sprintf("%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return s
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "P1D", time.Minute: "PT1M", 10 * time.Minute: "PT10M", 90 * time.Second: "PT1M30S", time.Hour: "PT1H",
	} {
		if got := iso(d); got != want {
			t.Errorf("iso(%v) = %s, want %s", d, got, want)
		}
	}
}
