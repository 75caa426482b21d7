//go:build unix

package bench

import (
	"os"
	"syscall"
)

// freeze stops a process in place (SIGSTOP): it keeps its sockets but
// answers nothing until it is killed.
func freeze(p *os.Process) bool { return p.Signal(syscall.SIGSTOP) == nil }
