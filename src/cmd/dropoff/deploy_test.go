package main

import (
	"io"
	"strings"
	"testing"

	"github.com/dropoff-dev/dropoff/tests/bicep"
)

// The deployment and the program agree: every variable the templates set on
// an app is one its role reads (the table `dropoff help` prints), each app's
// args is a real role, and the role accepts the configuration it is given.
// The templates are read through their parse trees, which needs cgo.
func TestDeploymentSetsOnlyWhatEachRoleReads(t *testing.T) {
	var res *bicep.File
	for _, f := range bicep.Load(t, "../../../bicep") {
		if strings.HasSuffix(f.Path, "/resources.bicep") {
			res = f
		}
	}
	if res == nil {
		t.Fatal("no bicep/resources.bicep")
	}
	roles := map[string]roleSet{}
	for _, r := range roleNames {
		roles[r.name] = r.role
	}
	apps := 0
	for _, m := range res.Modules {
		switch strings.TrimPrefix(m.Path, "./") {
		case "modules/app.bicep":
			apps++
			checkApp(t, res, m, roles)
		case "modules/dbinit.bicep":
			checkDBInit(t, res, m)
		}
	}
	if apps != len(roleNames) {
		t.Errorf("%d apps in resources.bicep, want one per role (%d)", apps, len(roleNames))
	}
}

func checkApp(t *testing.T, res *bicep.File, m *bicep.Module, roles map[string]roleSet) {
	t.Helper()
	args, _ := res.Resolve(m.Param("args")).(*bicep.Array)
	if args == nil || len(args.Items) != 1 {
		t.Errorf("%s: args %#v, want one role", m.Pos, m.Param("args"))
		return
	}
	name, _ := args.Items[0].(bicep.String)
	role, ok := roles[string(name)]
	if !ok {
		t.Errorf("%s: args [%s] is not a role of dropoff (%v)", m.Pos, name, roleNames)
		return
	}
	env := deployedEnv(t, res, m)
	reads := map[string]bool{}
	for _, s := range settings {
		if s.roles&role != 0 {
			reads[s.env] = true
		}
	}
	for k := range env {
		if !reads[k] {
			t.Errorf("%s: %s sets %s, which it does not read (dropoff help lists what each role reads)", m.Pos, name, k)
		}
	}
	if _, err := parseConfig(string(name), nil, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Errorf("%s: dropoff %s refuses its deployed configuration: %v", m.Pos, name, err)
	}
}

func checkDBInit(t *testing.T, res *bicep.File, m *bicep.Module) {
	t.Helper()
	reads := map[string]bool{"DROPOFF_AZURE_AUTH": true, "AZURE_CLIENT_ID": true}
	for _, s := range dbinitSettings {
		reads[s.env] = true
	}
	for k := range deployedEnv(t, res, m) {
		if !reads[k] {
			t.Errorf("%s: the dbinit job sets %s, which dropoff dbinit does not read", m.Pos, k)
		}
	}
}

// deployedEnv is a module's env parameter as the app would see it: literals
// as written, values only known in Azure (an identity's client id, a host)
// as stand-ins of the right shape.
func deployedEnv(t *testing.T, res *bicep.File, m *bicep.Module) map[string]string {
	t.Helper()
	arr, ok := res.Resolve(m.Param("env")).(*bicep.Array)
	if !ok {
		t.Fatalf("%s: env %#v cannot be read", m.Pos, m.Param("env"))
	}
	env := map[string]string{}
	for _, it := range arr.Items {
		o, _ := it.(*bicep.Object)
		n, _ := o.Get("name")
		v, _ := o.Get("value")
		name := string(n.(bicep.String))
		switch v := v.(type) {
		case bicep.String:
			env[name] = string(v)
		case *bicep.Interp, *bicep.Expr:
			env[name] = standIn(name)
		default:
			t.Errorf("%s: %s = %#v, want a string", m.Pos, name, v)
		}
	}
	return env
}

func standIn(name string) string {
	switch {
	case strings.HasSuffix(name, "_DB"):
		return "sqlserver://sql-x.database.windows.net?database=sqldb-write&encrypt=true"
	case strings.HasSuffix(name, "CLIENT_ID"):
		return "00000000-0000-0000-0000-000000000001"
	case name == "DROPOFF_SERVICEBUS_NAMESPACE":
		return "sb-x.servicebus.windows.net"
	case name == "DROPOFF_ALLOW_ANONYMOUS":
		return "false"
	}
	return "x"
}
