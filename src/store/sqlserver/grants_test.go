package sqlserver

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// tableUse finds the tables a statement touches and how: INSERT INTO,
// UPDATE, DELETE FROM, and FROM or JOIN (a read).
var tableUse = regexp.MustCompile(`(?i)\b(DELETE\s+(?:TOP\s*\([^)]*\)\s*)?FROM|INSERT\s+INTO|UPDATE|FROM|JOIN)\s+dbo\.(\w+)`)

// aliasDML finds UPDATE and DELETE by alias (UPDATE sh SET … FROM dbo.shipments
// AS sh, DELETE sh FROM dbo.shipments AS sh), whose table is named later in
// the statement.
var (
	aliasDML   = regexp.MustCompile(`(?i)\b(UPDATE|DELETE)\s+(\w+)\s+(?:SET|FROM)\b`)
	aliasTable = regexp.MustCompile(`(?i)dbo\.(\w+)\s+AS\s+(\w+)`)
)

// needs lists the permissions the statements in src need, as "table PERM".
// An UPDATE or DELETE with a WHERE clause (all of ours) needs SELECT on the
// table as well: SQL Server checks SELECT on the columns it reads.
func needs(src string) []string {
	var out []string
	for _, m := range tableUse.FindAllStringSubmatch(src, -1) {
		verb := strings.ToUpper(strings.Fields(m[1])[0])
		table := m[2]
		switch verb {
		case "FROM", "JOIN":
			out = append(out, table+" SELECT")
		case "UPDATE", "DELETE":
			out = append(out, table+" "+verb, table+" SELECT")
		default:
			out = append(out, table+" "+verb)
		}
	}
	for _, loc := range aliasDML.FindAllStringSubmatchIndex(src, -1) {
		verb, alias := strings.ToUpper(src[loc[2]:loc[3]]), src[loc[4]:loc[5]]
		if strings.EqualFold(alias, "dbo") {
			continue
		}
		stmt := src[loc[0]:]
		if end := strings.IndexByte(stmt, ';'); end >= 0 {
			stmt = stmt[:end]
		}
		for _, t := range aliasTable.FindAllStringSubmatch(stmt, -1) {
			if strings.EqualFold(t[2], alias) {
				out = append(out, t[1]+" "+verb, t[1]+" SELECT")
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func granted(grants []tableGrant) map[string]bool {
	have := map[string]bool{}
	for _, g := range grants {
		for _, p := range g.perms {
			have[g.table+" "+p] = true
		}
	}
	return have
}

// TestGrantsCoverEveryStatement reads the SQL in this package's sources: each
// role's statements may use only what dbinit grants that role, and every
// source file that names a table is assigned to a role or to the
// administrator, so a new statement cannot go unchecked.
func TestGrantsCoverEveryStatement(t *testing.T) {
	roles := []struct {
		role   string
		files  []string
		grants []tableGrant
	}{
		{"worker (write database)", []string{"writetx.go", "writestore.go", "trim_worker.go"}, workerWriteGrants},
		{"projector (write database)", []string{"feed.go", "trim_feed.go"}, projectorWriteGrants},
		{"projector (projection database)", []string{"projection.go", "trim_projection.go"}, projectorProjectionGrants},
		{"query API (projection database)", []string{"queries.go"}, queryProjectionGrants},
		{"query API (write database)", []string{"lag.go"}, queryWriteGrants},
	}
	// The administrator's: migrations, dbinit, test databases. Every role
	// also runs checkSchema (in migrate.go), which reads schema_migrations.
	admin := []string{"migrate.go", "createdb.go", "dbinit.go", "dbinit_sql.go", "db.go"}

	assigned := map[string]bool{}
	for _, f := range admin {
		assigned[f] = true
	}
	for _, r := range roles {
		have := granted(r.grants)
		if !have["schema_migrations SELECT"] {
			t.Errorf("%s: no SELECT on schema_migrations, which checkSchema reads at start", r.role)
		}
		for _, f := range r.files {
			assigned[f] = true
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			uses := needs(string(src))
			if len(uses) == 0 {
				t.Errorf("%s: found no statements in %s; is the scan still right?", r.role, f)
			}
			for _, u := range uses {
				if !have[u] {
					t.Errorf("%s: %s needs %s, which dbinit does not grant", r.role, f, u)
				}
			}
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || assigned[f] {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if uses := needs(string(src)); len(uses) > 0 {
			t.Errorf("%s uses %v but belongs to no role in this test", f, uses)
		}
	}
}

// TestGrantsAreLeast: the worker deletes only what retention trims of its
// inbox, the projector only reads the write database and trims its feed,
// the query API only reads.
func TestGrantsAreLeast(t *testing.T) {
	for _, c := range []struct {
		role   string
		grants []tableGrant
		allow  []string
	}{
		{"worker", workerWriteGrants, []string{"SELECT", "INSERT", "UPDATE", "DELETE"}},
		{"projector in the write database", projectorWriteGrants, []string{"SELECT", "DELETE"}},
		{"query API", queryProjectionGrants, []string{"SELECT"}},
	} {
		for _, g := range c.grants {
			for _, p := range g.perms {
				if !slices.Contains(c.allow, p) {
					t.Errorf("%s: %s on %s; allowed are %v", c.role, p, g.table, c.allow)
				}
			}
		}
	}
	// The feed is append-only for its writer, and only its reader trims it;
	// the worker deletes nothing but what retention trims of its inbox.
	for _, g := range workerWriteGrants {
		if g.table == "change_feed" && !slices.Equal(g.perms, []string{"INSERT"}) {
			t.Errorf("worker on change_feed: %v, want INSERT only", g.perms)
		}
		if slices.Contains(g.perms, "DELETE") && g.table != "operations" && g.table != "idempotency_keys" {
			t.Errorf("worker may DELETE from %s; retention trims only operations and idempotency_keys", g.table)
		}
	}
	for _, g := range projectorWriteGrants {
		if slices.Contains(g.perms, "DELETE") && g.table != "change_feed" {
			t.Errorf("projector may DELETE from %s in the write database; it trims only the feed", g.table)
		}
	}
}

func TestNeeds(t *testing.T) {
	got := needs("SELECT a FROM dbo.x WITH (UPDLOCK) WHERE 1=1; DELETE FROM dbo.y WHERE id = 1; " +
		"INSERT INTO dbo.z (a) VALUES (1); UPDATE dbo.w SET a = 1 FROM dbo.w JOIN dbo.v ON 1=1; DELETE TOP (@n) FROM dbo.t WHERE 1=1; " +
		"DELETE q FROM dbo.r AS q JOIN @s AS s ON 1=1; UPDATE t SET a = 1 FROM dbo.u AS t JOIN dbo.v AS x ON 1=1;")
	want := []string{"r DELETE", "r SELECT", "t DELETE", "t SELECT", "u SELECT", "u UPDATE", "v SELECT", "w SELECT", "w UPDATE", "x SELECT", "y DELETE", "y SELECT", "z INSERT"}
	if !slices.Equal(got, want) {
		t.Errorf("needs = %v, want %v", got, want)
	}
}
