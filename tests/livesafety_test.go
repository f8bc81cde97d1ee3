package tests

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// With only the program's own variables set — a shell configured to run
// Dropoff on Service Bus and SQL Server — the live contract suites do not
// run, and nothing connects to that queue or those databases: not a send, not
// a receive, not a purge. The variables point at a listener that counts
// every connection; it must count none.
func TestLiveSuitesIgnoreTheProgramsVariables(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dialled atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	env := append(isolatedEnv(os.Environ()),
		"DROPOFF_SERVICEBUS_CONNECTION_STRING=Endpoint=sb://"+addr+";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;",
		"DROPOFF_SERVICEBUS_NAMESPACE="+addr,
		"DROPOFF_SERVICEBUS_QUEUE=dropoff-test",
		"DROPOFF_WRITE_DB=sqlserver://sa:x@"+addr+"?database=dropoff_write",
		"DROPOFF_READ_DB=sqlserver://sa:x@"+addr+"?database=dropoff_read",
	)
	cmd := exec.Command("go", "test", "-count=1", "-v", "./src/bus/servicebus/", "./src/store/sqlserver/")
	cmd.Dir = ".."
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test of the Azure adapters with the program's variables: %v\n%s", err, out)
	}
	for _, skip := range []string{
		"--- SKIP: TestContract",
		"DROPOFF_TEST_SERVICEBUS_CONNECTION_STRING",
		"--- SKIP: TestWriteStoreContract",
		"DROPOFF_TEST_SQLSERVER",
	} {
		if !strings.Contains(string(out), skip) {
			t.Errorf("output lacks %q: the live suites did not say they skipped and why\n%s", skip, out)
		}
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("%d connections to the queue and databases the program's variables name, want none\n%s", n, tail(out, 40))
	}
	t.Logf("live suites skipped, %d connections to the production addresses", dialled.Load())
}

func tail(out []byte, lines int) string {
	l := strings.Split(string(out), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return fmt.Sprint(strings.Join(l, "\n"))
}
