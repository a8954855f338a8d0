package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Populate fills srcdir from fetched sources the way abuild's default
// unpack does: each file is symlinked as srcdir/<name> to where [Fetch]
// left it, and each archive (tar in any compression, or zip; see
// [Format.IsArchive]) is then extracted into srcdir with [Unpack]'s
// defences. Other files, single compressed ones included, stay links.
// A link that already exists is replaced.
func Populate(ctx context.Context, results []Result, srcdir string, opts UnpackOptions) error {
	if err := os.MkdirAll(srcdir, 0o755); err != nil {
		return err
	}
	for _, r := range results {
		if r.Path == "" {
			return fmt.Errorf("populate %s: %s was not fetched", srcdir, r.Item.Name)
		}
		if !validName(r.Item.Name) {
			return fmt.Errorf("populate %s: invalid saved name %q", srcdir, r.Item.Name)
		}
		target, err := filepath.Abs(r.Path)
		if err != nil {
			return err
		}
		link := filepath.Join(srcdir, r.Item.Name)
		if fi, err := os.Lstat(link); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			os.Remove(link)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("populate %s: %w", srcdir, err)
		}
		if FormatOf(r.Item.Name).IsArchive() {
			if err := Unpack(ctx, r.Path, srcdir, opts); err != nil {
				return err
			}
		}
	}
	return nil
}
