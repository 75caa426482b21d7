//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// flockFile takes an flock(2) on f without waiting. flock locks belong to
// the open file, so two opens in one process exclude each other too.
func flockFile(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return errDataInUse
		}
		return err
	}
}

func funlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
