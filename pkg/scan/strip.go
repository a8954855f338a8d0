package scan

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// StripTargets lists the files abuild strips: ELF executables and shared
// objects, except under usr/lib/debug/ and except standalone (firmware)
// objects, each inode once.
func (t *Tree) StripTargets() []string {
	var out []string
	seen := map[struct{ dev, ino uint64 }]bool{}
	for _, e := range t.ELF {
		if e.Type != elf.ET_DYN && e.Type != elf.ET_EXEC {
			continue
		}
		if e.Standalone || strings.HasPrefix(e.Path, "usr/lib/debug/") {
			continue
		}
		if fi, err := os.Lstat(filepath.Join(t.Root, filepath.FromSlash(e.Path))); err == nil {
			if k, ok := inodeOf(fi); ok {
				if seen[k] {
					continue
				}
				seen[k] = true
			}
		}
		out = append(out, e.Path)
	}
	return out
}

// Strip runs command (for example "strip" or "x86_64-alpine-linux-musl-strip")
// on each file (relative to root), writing to a temporary file whose bytes
// then replace the original's content, so the inode, its mode and its hard
// links stay as they were. tmpDir holds the temporary files.
func Strip(ctx context.Context, root string, files []string, command, tmpDir string) error {
	if len(files) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp(tmpDir, "strip-")
	if err != nil {
		return fmt.Errorf("strip: %w", err)
	}
	defer os.RemoveAll(tmp)
	for i, rel := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		out := filepath.Join(tmp, fmt.Sprint(i))
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, command, "-o", out, p)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("strip %s: %v: %s", rel, err, strings.TrimSpace(stderr.String()))
		}
		if err := replaceContent(p, out); err != nil {
			return fmt.Errorf("strip %s: %w", rel, err)
		}
	}
	return nil
}

// replaceContent overwrites dst's content with src's, keeping dst's inode.
func replaceContent(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := os.Lstat(dst)
	if err != nil {
		return err
	}
	mode := fi.Mode().Perm() | fi.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)
	if fi.Mode().Perm()&0o200 == 0 {
		if err := os.Chmod(dst, mode|0o200); err != nil {
			return err
		}
		defer os.Chmod(dst, mode)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// Truncating and writing may have cleared setuid bits.
	return os.Chmod(dst, mode)
}
