package sqlitebus

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
)

// Every statement field is prepared, under a name of its own: a field added
// to statements but left out of prepare would be a nil statement at run
// time.
func TestEveryStatementIsPrepared(t *testing.T) {
	q, err := Open(filepath.Join(t.TempDir(), "bus.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	v := reflect.ValueOf(q.st).Elem()
	stmtType := reflect.TypeFor[*sql.Stmt]()
	fields := 0
	for i := range v.NumField() {
		if v.Field(i).Type() != stmtType {
			continue
		}
		fields++
		name := v.Type().Field(i).Name
		s := (*sql.Stmt)(v.Field(i).UnsafePointer())
		if s == nil {
			t.Errorf("statement %s is not prepared", name)
			continue
		}
		if got := q.st.name(s); got != name {
			t.Errorf("statement %s is named %q in error messages", name, got)
		}
	}
	if len(q.st.names) != fields {
		t.Errorf("%d statements prepared for %d fields", len(q.st.names), fields)
	}
}
