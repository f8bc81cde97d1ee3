//go:build unix

package tests

import (
	"os/exec"
	"syscall"
	"testing"
)

// The walkthrough's shell runs in a process group of its own, so that what a
// failed lab left running can be found and killed with it.

func requireProcessGroups(*testing.T) {}

func newProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func killProcessGroup(pid int) { syscall.Kill(-pid, syscall.SIGKILL) }

func processGroupAlive(pid int) bool { return syscall.Kill(-pid, 0) == nil }
