//go:build !unix

package route

import "time"

// ProcessCPUClock is the wall clock on systems that do not report CPU time.
func ProcessCPUClock() time.Time { return time.Now() }
