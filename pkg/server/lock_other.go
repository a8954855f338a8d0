//go:build !unix

package server

import "os"

// locksWork is false without flock(2): another server's lock cannot be
// seen, so staging directories are only removed by age.
const locksWork = false

// tryLock opens path, which stands for a lock held until it is closed.
func tryLock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR, 0o600)
}
