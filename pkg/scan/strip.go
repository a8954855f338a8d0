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

// StripOptions configure [Strip].
type StripOptions struct {
	// Command is the strip program ("" means "strip"; cross builds use
	// "$CHOST-strip").
	Command string
	// TempDir holds the stripped copies; it must be writable by Run.
	TempDir string
	// Run runs argv (a POSIX sh command line) and waits for it, for
	// example in the build's sandbox so that the build root's strip is
	// used. nil runs it as a child process.
	Run func(ctx context.Context, argv []string) error
}

// stripScript strips every file argument into $1/<n> with the program $2.
const stripScript = `set -e
out=$1
strip=$2
shift 2
i=0
for f; do
	i=$((i + 1))
	"$strip" -o "$out/$i" "$f"
done`

// Strip strips each file (relative to root) with one run of the strip
// program per file, all in a single shell: each file is stripped into a
// temporary copy whose bytes then replace the original's content, so the
// inode, its mode and its hard links stay as they were.
func Strip(ctx context.Context, root string, files []string, opts StripOptions) error {
	if len(files) == 0 {
		return nil
	}
	command := opts.Command
	if command == "" {
		command = "strip"
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "strip-")
	if err != nil {
		return fmt.Errorf("strip: %w", err)
	}
	defer os.RemoveAll(tmp)
	argv := []string{"/bin/sh", "-c", stripScript, "strip", tmp, command}
	for _, rel := range files {
		argv = append(argv, filepath.Join(root, filepath.FromSlash(rel)))
	}
	run := opts.Run
	if run == nil {
		run = func(ctx context.Context, argv []string) error {
			var stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
			}
			return nil
		}
	}
	if err := run(ctx, argv); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("strip: %w", err)
	}
	for i, rel := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := replaceContent(p, filepath.Join(tmp, fmt.Sprint(i+1))); err != nil {
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
