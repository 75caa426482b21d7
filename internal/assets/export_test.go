package assets

// SetMaxFileBytes lowers the size limit of the readers for a test and
// returns a function that restores it.
func SetMaxFileBytes(n int64) (restore func()) {
	old := maxFileBytes
	maxFileBytes = n
	return func() { maxFileBytes = old }
}
