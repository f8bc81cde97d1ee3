//go:build windows

package cputime

import (
	"syscall"
	"time"
)

func used() time.Duration {
	self, err := syscall.GetCurrentProcess() // a pseudo-handle: nothing to close
	if err != nil {
		return 0
	}
	var creation, exit, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(self, &creation, &exit, &kernel, &user); err != nil {
		return 0
	}
	// A Filetime holding a duration counts 100-nanosecond intervals
	// (Filetime.Nanoseconds would treat it as a date since 1601).
	ticks := func(f syscall.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
