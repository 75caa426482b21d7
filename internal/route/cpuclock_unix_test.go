//go:build unix

package route

import (
	"syscall"
	"time"
)

// cpuClock is the process's CPU time: deadlines measured with it do not
// shrink when other work shares the machine.
func cpuClock() time.Time {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return time.Now()
	}
	return time.Unix(0, r.Utime.Nano()+r.Stime.Nano())
}
