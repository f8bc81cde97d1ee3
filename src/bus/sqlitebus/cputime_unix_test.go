//go:build unix

package sqlitebus_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used. Unlike
// wall time it barely depends on what else the machine is doing, which makes
// it the steadier measure of the queue's own cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
