// Package tests holds Dropoff's process-level, black-box tests: they build the
// dropoff binary, run it as a child process on a temporary data directory,
// talk to it over HTTP, kill it with SIGKILL at awkward moments, start it
// again, and check what survived. They import nothing of Dropoff's own code
// but the checker of docs/openapi.yaml (contract_test.go), a test tool.
// TestWalkthrough runs every command of docs/walkthrough.md.
package tests
