package source

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// fileLock is an exclusive advisory lock (flock) on a lock file.
type fileLock struct {
	f    *os.File
	path string
}

// lockFile takes an exclusive lock on path, creating the file, and waits
// for it as long as ctx allows. The kernel drops the lock when the process
// dies, so a crashed fetch never leaves the cache locked. unlock removes
// the file; a waiter that then holds a lock on the removed file notices
// that path names another file (or none) and locks again.
func lockFile(ctx context.Context, path string) (*fileLock, error) {
	wait := 10 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil || (!errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR)) {
				break
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			if wait < 200*time.Millisecond {
				wait *= 2
			}
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		held, herr := f.Stat()
		now, nerr := os.Stat(path)
		if herr == nil && nerr == nil && os.SameFile(held, now) {
			return &fileLock{f: f, path: path}, nil
		}
		f.Close() // the holder before us removed the file: lock the new one
	}
}

// unlock removes the lock file and releases the lock.
func (l *fileLock) unlock() {
	os.Remove(l.path)
	l.f.Close()
}
