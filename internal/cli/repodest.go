package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkWritableDir fails when dir cannot become a directory apkit writes
// into: it, or the nearest of its parents that exists, must be a
// directory that takes a new file. It creates nothing that stays, so a
// build that fails later has not made the directory either.
func checkWritableDir(dir string) error {
	p := filepath.Clean(dir)
	for {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			if p == filepath.Clean(dir) {
				return errors.New("not a directory")
			}
			return fmt.Errorf("%s is not a directory", p)
		case err == nil:
			f, err := os.CreateTemp(p, ".apkit-write-check-*")
			if err != nil {
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return fmt.Errorf("cannot write in %s: %w", p, err)
			}
			name := f.Name()
			f.Close()
			return os.Remove(name)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return err
		}
		p = parent
	}
}
