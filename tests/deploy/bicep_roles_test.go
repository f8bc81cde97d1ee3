package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/tests/bicep"
)

// Built-in Azure roles, by definition id. Only the first three may be
// assigned; the rest are here so that an assignment of one of them fails
// with its name.
var builtinRoles = map[string]string{
	"69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
	"4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
	"7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
	"090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
	"8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
	"b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
	"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
	"8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
}

// The one custom role: reading the queue's length for the KEDA scaler.
const lengthReaderRole = "Dropoff queue length reader"

// wantRights is the table of resources.bicep's header: for each identity,
// the roles it holds and where. SQL rights are not Azure roles (dbinit
// grants them; its T-SQL has its own tests).
var wantRights = map[string][]string{
	"commandApi": {"AcrPull on registry", "Azure Service Bus Data Sender on queue"},
	"worker":     {"AcrPull on registry", "Azure Service Bus Data Receiver on queue", "Azure Service Bus Data Sender on queue"},
	"projector":  {"AcrPull on registry"},
	"queryApi":   {"AcrPull on registry"},
	"scaler":     {lengthReaderRole + " on queue"},
	"dbinit":     {"AcrPull on registry"},
}

// Every role assignment in the templates, followed back to the identities
// it names, gives exactly the table above: no identity holds more.
func TestBicepRoleAssignmentsAreLeastPrivilege(t *testing.T) {
	ts := loadTemplates(t)
	got := map[string][]string{}
	for rel, f := range ts {
		for _, ra := range f.ResourcesOfType("Microsoft.Authorization/roleAssignments") {
			role := roleName(t, f, ra)
			scope := refRoot(get(ra.Body, "scope"))
			for _, who := range assignees(t, ts, rel, ra) {
				got[who] = append(got[who], role+" on "+scope)
			}
		}
	}
	for who := range got {
		slices.Sort(got[who])
	}
	if diff := cmp.Diff(wantRights, got); diff != "" {
		t.Errorf("role assignments differ from the table in resources.bicep (-want +got):\n%s", diff)
	}
}

// The scaler's custom role reads the queue and can do nothing else.
func TestBicepLengthReaderRoleOnlyReads(t *testing.T) {
	f := loadTemplates(t).file(t, "modules/servicebus.bicep")
	def := only(t, f, "Microsoft.Authorization/roleDefinitions")
	perms, _ := def.Get("properties.permissions")
	arr, ok := perms.(*bicep.Array)
	if !ok || len(arr.Items) != 1 {
		t.Fatalf("%s: permissions = %#v, want one entry", def.Pos, perms)
	}
	p := arr.Items[0]
	if got := literals(get(p, "actions")); !slices.Equal(got, []string{"Microsoft.ServiceBus/namespaces/queues/read"}) {
		t.Errorf("%s: actions = %v, want only Microsoft.ServiceBus/namespaces/queues/read", def.Pos, got)
	}
	if got := literals(get(p, "dataActions")); len(got) != 0 {
		t.Errorf("%s: dataActions = %v, want none (no send, no receive)", def.Pos, got)
	}
	if name, ok := get(def.Body, "properties.roleName").(*bicep.Interp); !ok || !strings.HasPrefix(name.Raw, lengthReaderRole) {
		t.Errorf("%s: roleName = %#v, want it to start with %q", def.Pos, get(def.Body, "properties.roleName"), lengthReaderRole)
	}
}

// roleName names the role ra assigns: a built-in one by its definition id
// (subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '<id>'))
// or the custom role defined beside it (<symbol>.id).
func roleName(t *testing.T, f *bicep.File, ra *bicep.Resource) string {
	t.Helper()
	v := get(ra.Body, "properties.roleDefinitionId")
	e, _ := v.(*bicep.Expr)
	if e == nil {
		t.Fatalf("%s: roleDefinitionId %#v is not an expression the test can read", ra.Pos, v)
	}
	if name, args, ok := e.Call(); ok && name == "subscriptionResourceId" && len(args) == 2 {
		id, _ := str(args[1])
		role, known := builtinRoles[id]
		if !known {
			t.Fatalf("%s: role definition %s is not one this test knows; add it to builtinRoles", ra.Pos, id)
		}
		return role
	}
	if root, path, ok := e.Ref(); ok && slices.Equal(path, []string{"id"}) {
		def := f.Resource(root)
		if def == nil || !strings.EqualFold(def.Type, "Microsoft.Authorization/roleDefinitions") {
			t.Fatalf("%s: %s is not a role definition in this file", ra.Pos, e.Text)
		}
		return lengthReaderRole
	}
	t.Fatalf("%s: roleDefinitionId %s is neither a built-in role nor the custom role", ra.Pos, e.Text)
	return ""
}

// assignees follows ra's principal back to identities: ra loops over a
// parameter of its module (for principalId in senders), and resources.bicep
// passes that parameter a list of identities.outputs.<role>PrincipalId.
func assignees(t *testing.T, ts templates, rel string, ra *bicep.Resource) []string {
	t.Helper()
	if ra.Loop == nil {
		t.Fatalf("%s: a role assignment outside a loop over a principal list; the test cannot follow it", ra.Pos)
	}
	if p := get(ra.Body, "properties.principalId"); refRoot(p) != ra.Loop.Item {
		t.Fatalf("%s: principalId %v is not the loop's %s", ra.Pos, p, ra.Loop.Item)
	}
	if pt, _ := str(get(ra.Body, "properties.principalType")); pt != "ServicePrincipal" {
		t.Errorf("%s: principalType %q, want ServicePrincipal (managed identities)", ra.Pos, pt)
	}
	param := refRoot(ra.Loop.Range)
	var out []string
	for _, m := range ts.calls(t, rel) {
		list, ok := m.Param(param).(*bicep.Array)
		if !ok {
			t.Fatalf("%s: %s is given %#v, want a list of identities", m.Pos, param, m.Param(param))
		}
		for _, it := range list.Items {
			role, what, ok := identityRef(it)
			if !ok || what != "PrincipalId" {
				t.Fatalf("%s: %s holds %#v, want identities.outputs.<role>PrincipalId", m.Pos, param, it)
			}
			out = append(out, role)
		}
	}
	return out
}

func refRoot(v bicep.Value) string {
	if e, ok := v.(*bicep.Expr); ok {
		if root, _, ok := e.Ref(); ok {
			return root
		}
	}
	return fmt.Sprintf("%v", v)
}

func literals(v bicep.Value) []string {
	arr, _ := v.(*bicep.Array)
	if arr == nil {
		return nil
	}
	var out []string
	for _, it := range arr.Items {
		s, _ := str(it)
		out = append(out, s)
	}
	return out
}

// Each identity output is what its name says, of the identity of that role.
func TestBicepIdentityOutputsAreWhatTheySay(t *testing.T) {
	f := loadTemplates(t).file(t, "modules/identities.bicep")
	props := map[string]string{"Id": "id", "ClientId": "properties.clientId", "PrincipalId": "properties.principalId", "Name": "name"}
	for _, o := range f.Outputs {
		role, what, ok := identityOutput(o.Name)
		e, isExpr := o.Value.(*bicep.Expr)
		if !isExpr {
			t.Errorf("%s: output %s = %#v, want a property of an identity", o.Pos, o.Name, o.Value)
			continue
		}
		root, path, _ := e.Ref()
		r := f.Resource(root)
		if !ok || r == nil || !strings.EqualFold(r.Type, "Microsoft.ManagedIdentity/userAssignedIdentities") ||
			root != role || strings.Join(path, ".") != props[what] {
			t.Errorf("%s: output %s = %s, want <role>.<%s> of the identity of its role", o.Pos, o.Name, e.Text, props[what])
		}
	}
	if n := len(f.ResourcesOfType("Microsoft.ManagedIdentity/userAssignedIdentities")); n != len(identityRoles) {
		t.Errorf("%d identities, want %d (%v)", n, len(identityRoles), identityRoles)
	}
}
