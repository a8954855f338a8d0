//go:build unix

package repo

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// errSyncUnsupported is what fsync on a directory gives where it is not
// supported.
var errSyncUnsupported = syscall.EINVAL

// fileLock is an exclusive flock(2) lock on a lock file. flock locks belong
// to the open file description, so two locks taken through separate opens
// exclude each other within one process as well as across processes.
type fileLock struct{ f *os.File }

// lockFile takes an exclusive lock on path (created if needed), waiting for
// other holders until ctx is done.
func lockFile(ctx context.Context, path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	// Fast path: nobody holds it.
	if err := flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return &fileLock{f}, nil
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- flock(fd, syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, err
		}
		return &fileLock{f}, nil
	case <-ctx.Done():
		// The blocked flock call still owns f: close it once that call
		// returns, which releases the lock if it was granted meanwhile.
		go func() {
			<-done
			f.Close()
		}()
		return nil, ctx.Err()
	}
}

// flock calls flock(2), retrying when interrupted.
func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// unlock releases the lock.
func (l *fileLock) unlock() error {
	err := flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
