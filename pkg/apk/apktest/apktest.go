// Package apktest lays out the trees that tests make packages from.
package apktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A File is one entry of a test package's tree: Content for a regular
// file, a trailing "/" in Path for a directory, "->target" for a symbolic
// link and "=>other" for a hard link to another path of the tree (made
// earlier). Mode 0 means 0644, or 0755 for a directory.
type File struct {
	Path    string
	Mode    os.FileMode
	Content string
}

// Stage writes files into dir, then copies in each host file (path in the
// tree -> path on the host) with mode 0755.
func Stage(t testing.TB, dir string, files []File, host map[string]string) {
	t.Helper()
	for _, e := range files {
		full := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(e.Path, "/")))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(e.Path, "/"):
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(e.Content, "->"):
			if err := os.Symlink(e.Content[2:], full); err != nil {
				t.Fatal(err)
			}
			continue
		case strings.HasPrefix(e.Content, "=>"):
			if err := os.Link(filepath.Join(dir, e.Content[2:]), full); err != nil {
				t.Fatal(err)
			}
			continue
		default:
			if err := os.WriteFile(full, []byte(e.Content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
			if strings.HasSuffix(e.Path, "/") {
				mode = 0o755
			}
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	for in, from := range host {
		full := filepath.Join(dir, filepath.FromSlash(in))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
