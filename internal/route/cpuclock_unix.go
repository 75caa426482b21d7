//go:build unix

package route

import (
	"syscall"
	"time"
)

// ProcessCPUClock returns the CPU time this process has used so far, as a
// time.Time for Options.Clock: time limits then count the search's own work,
// not the time other programs take on a shared machine. Where the operating
// system does not report it, it falls back to the wall clock.
func ProcessCPUClock() time.Time {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return time.Now()
	}
	return time.Unix(0, r.Utime.Nano()+r.Stime.Nano())
}
