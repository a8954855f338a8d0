//go:build !unix

package repo

import (
	"context"
	"errors"
	"os"
)

var errSyncUnsupported = errors.New("sync unsupported")

// fileLock on systems without flock: the lock file is held open, but other
// processes are not excluded (apkit's repositories live on Unix systems).
type fileLock struct{ f *os.File }

func lockFile(ctx context.Context, path string) (*fileLock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &fileLock{f}, nil
}

func (l *fileLock) unlock() error { return l.f.Close() }
