// Package bench holds the benchmark harnesses behind `civic bench ...`:
// the load generators, the raw limits they compare with and the checks
// that every acknowledged reading was stored once. Each harness is a
// function taking a typed options struct, with writers for its results
// and its progress; cmd/civic parses the flags, validates them and calls
// it. The last line each harness writes to its output is the figure the
// README quotes.
package bench

// An OptionError reports options a harness cannot run with that only
// show once it runs (a database URL that does not parse, a data folder
// that already holds a database). The caller should correct its command
// line; cmd/civic prints its usage text.
type OptionError struct{ Msg string }

func (e *OptionError) Error() string { return e.Msg }
