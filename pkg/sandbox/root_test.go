package sandbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/sandbox"
)

func TestCheckRoot(t *testing.T) {
	t.Parallel()
	mk := func(t *testing.T, root string, files map[string]string) {
		t.Helper()
		for name, link := range files {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			var err error
			if link == "" {
				err = os.WriteFile(p, []byte("#!\n"), 0o755)
			} else {
				err = os.Symlink(link, p)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		files   map[string]string // path in root: "" for a file, else a symlink target
		sub     string            // the root is this path under the temporary directory
		wantErr string            // "" for no error
	}{
		{name: "missing", sub: "nowhere", wantErr: "no such directory"},
		{name: "file", files: map[string]string{"f": ""}, sub: "f", wantErr: "not a directory"},
		{name: "empty", wantErr: "does not look like a root filesystem (no /bin/sh)"},
		{name: "bin sh", files: map[string]string{"bin/sh": ""}},
		{name: "absolute symlink inside", files: map[string]string{"bin/busybox": "", "bin/sh": "/bin/busybox"}},
		{name: "merged usr", files: map[string]string{"usr/bin/dash": "", "usr/bin/sh": "dash", "bin": "usr/bin"}},
		{name: "merged usr absolute", files: map[string]string{"usr/bin/sh": "", "bin": "/usr/bin"}},
		// The host's /bin/sh does not count: the link is followed in the root.
		{name: "link out of root", files: map[string]string{"bin/sh": "/usr/bin/env"}, wantErr: "no /bin/sh"},
		{name: "dangling", files: map[string]string{"bin/sh": "busybox"}, wantErr: "no /bin/sh"},
		{name: "sh is a directory", files: map[string]string{"bin/sh/x": ""}, wantErr: "no /bin/sh"},
		{name: "loop", files: map[string]string{"bin/sh": "/bin/sh"}, wantErr: "no /bin/sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			mk(t, root, tt.files)
			if tt.sub != "" {
				root = filepath.Join(root, tt.sub)
			}
			err := sandbox.CheckRoot(root)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckRoot: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "rootfs "+root+": ") {
				t.Fatalf("CheckRoot = %v, want rootfs %s: ...%s", err, root, tt.wantErr)
			}
		})
	}
}

func TestSelectChecksRootFirst(t *testing.T) {
	t.Parallel()
	for _, mode := range []sandbox.Mode{sandbox.ModeAuto, sandbox.ModeBwrap, sandbox.ModeNone} {
		_, _, err := sandbox.Select(t.Context(), sandbox.Options{Mode: mode, RootFS: t.TempDir(), BwrapPath: "/nonexistent/bwrap"})
		if !errors.Is(err, sandbox.ErrNotRoot) {
			t.Errorf("%s: Select = %v, want %v", mode, err, sandbox.ErrNotRoot)
		}
	}
}
