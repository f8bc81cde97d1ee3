package tests

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/dropoff-dev/dropoff/src/httpapi/apitest"
)

// Every response these tests receive is checked against docs/openapi.yaml,
// as the HTTP tests of src/httpapi and src/cmd/dropoff check theirs. Here a
// mismatch cannot be an error of the request: the tests treat a failed
// request as a command of unknown fate (a kill -9 cuts requests off), which
// would hide it. So the check records it instead, the response goes on to
// the test unchanged, and TestMain fails the run if any was recorded. The
// checker is a test tool, not Dropoff: the processes under test stay black
// boxes.
var contract = struct {
	sync.Mutex
	checker    *apitest.Checker
	mismatches []string
}{}

// checked is http.DefaultTransport with every complete response checked.
type checked struct{}

func (checked) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	err = contract.checker.CheckResponse(req, resp)
	var mismatch *apitest.MismatchError
	switch {
	case errors.As(err, &mismatch):
		contract.Lock()
		contract.mismatches = append(contract.mismatches, mismatch.Unwrap().Error())
		contract.Unlock()
	case err != nil:
		return nil, err // cut off in transit: nothing whole to check
	}
	return resp, nil
}

// loadContract loads the checker before any test runs.
func loadContract() error {
	c, err := apitest.Dropoff()
	if err != nil {
		return err
	}
	contract.checker = c
	return nil
}

// reportMismatches prints what was recorded and says whether the run fails.
func reportMismatches() bool {
	contract.Lock()
	defer contract.Unlock()
	for _, m := range contract.mismatches {
		fmt.Fprintln(os.Stderr, "the response does not match docs/openapi.yaml:", m)
	}
	return len(contract.mismatches) > 0
}
