//go:build unix

package memory_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the test process has used, user and
// system, over all its threads (the garbage collector's included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
