package repo

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stageFile puts the package file src into the directory under a
// temporary name, synced to disk: a hard link when Options.Link is set
// and src is on the same file system, else a copy.
func (r *Repo) stageFile(src string) (path string, size int64, err error) {
	if r.opts.Link {
		if path, size, err := linkToTemp(r.dir, src); err == nil {
			return path, size, nil
		}
	}
	return copyToTemp(r.dir, src)
}

// linkToTemp hard-links the regular file src into dir under a new
// temporary name and syncs it.
func linkToTemp(dir, src string) (string, int64, error) {
	st, err := os.Lstat(src)
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s: not a regular file", src)
	}
	for {
		path := filepath.Join(dir, tempPrefix+"add-"+rand.Text()+".apk")
		err := os.Link(src, path)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", 0, err
		}
		f, err := os.Open(path)
		if err == nil {
			err = f.Chmod(0o644)
			if err == nil {
				err = f.Sync()
			}
			f.Close()
		}
		if err != nil {
			os.Remove(path)
			return "", 0, err
		}
		return path, st.Size(), nil
	}
}
