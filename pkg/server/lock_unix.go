//go:build unix

package server

import (
	"os"
	"syscall"
)

// locksWork is true: another server's lock is seen.
const locksWork = true

// tryLock opens path and takes an exclusive flock(2) on it without
// waiting; it fails when another open file holds the lock. The lock lasts
// until the returned file is closed.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
