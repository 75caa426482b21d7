//go:build !unix

package route

import "time"

func cpuClock() time.Time { return time.Now() }
