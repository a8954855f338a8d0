package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrNotRoot reports a build root directory that has no /bin/sh, so that
// no recipe could run in it.
var ErrNotRoot = errors.New("does not look like a root filesystem (no /bin/sh)")

// CheckRoot checks that dir can be a build root: a directory with a
// /bin/sh (a file or a symlink, followed inside dir as the sandbox would).
// The error names dir and says what is wrong.
func CheckRoot(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("rootfs %s: no such directory", dir)
	case err != nil:
		return fmt.Errorf("rootfs %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("rootfs %s: not a directory", dir)
	}
	sh, err := resolveIn(dir, "/bin/sh")
	if err != nil {
		return fmt.Errorf("rootfs %s: %w", dir, ErrNotRoot)
	}
	if fi, err := os.Stat(sh); err != nil || fi.IsDir() {
		return fmt.Errorf("rootfs %s: %w", dir, ErrNotRoot)
	}
	return nil
}

// resolveIn returns the host path of name as seen with root as "/":
// symlinks, absolute or relative, are followed inside root.
func resolveIn(root, name string) (string, error) {
	links := 0
	done := "/"
	rest := strings.Split(strings.Trim(path.Clean(name), "/"), "/")
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == "" || c == "." {
			continue
		}
		next := path.Join(done, c)
		host := filepath.Join(root, filepath.FromSlash(next))
		fi, err := os.Lstat(host)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many symbolic links", name)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if !path.IsAbs(target) {
			target = path.Join(done, target)
		}
		rest = append(strings.Split(strings.Trim(path.Clean(target), "/"), "/"), rest...)
		done = "/"
	}
	return filepath.Join(root, filepath.FromSlash(done)), nil
}
