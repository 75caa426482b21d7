//go:build !unix

package main

import "os"

// flockFile does nothing where flock(2) does not exist: there civic restore
// cannot tell that a server is running; stop it first (docs/deploy.md).
func flockFile(*os.File, bool) error { return nil }

func funlockFile(*os.File) error { return nil }
