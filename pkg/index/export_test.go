package index

// SetMaxText sets the largest APKINDEX text Read accepts and returns a
// function that restores it. Tests that use it must not run in parallel.
func SetMaxText(n int) (restore func()) {
	old := maxText
	maxText = n
	return func() { maxText = old }
}
