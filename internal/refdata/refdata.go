// Package refdata holds the reference instances civic's route tests and
// `civic bench route` use, kept in the repository so that neither depends
// on files outside it: CVRPLIB capacitated instances with best-known
// solutions, and Gehring–Homberger time-window instances. README.md names
// each file's source and licence.
package refdata

import (
	"embed"
	"io/fs"
)

//go:embed cvrplib
var files embed.FS

// CVRPLIB is the folder of CVRPLIB instances: *.vrp files, a best-known
// solution *.sol beside most of them, bks.csv (name, size with depot,
// capacity, best-known cost, distance rounding, note), and vrptw/ with
// 1,000-customer time-window instances.
func CVRPLIB() fs.FS {
	sub, err := fs.Sub(files, "cvrplib")
	if err != nil {
		panic(err) // the folder is embedded above: it is always there
	}
	return sub
}
