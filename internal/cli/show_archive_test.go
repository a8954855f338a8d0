package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/alpinetest"
)

func TestShowArchive(t *testing.T) {
	dir := alpinetest.Dir(t)
	tests := []struct {
		name string
		file string
		opts showOptions
		want []string // lines stdout must hold
	}{
		{"package", "test_alpine.apk", showOptions{}, []string{
			"kind:            package",
			"pkgname:         apache2-ctl",
			"pkgver:          2.4.43-r0",
			"builddate:       2020-04-01T19:22:57Z",
			"installed size:  16384",
			"depends:         lynx",
			"provides:        cmd:apachectl",
			"id:              Q1MMRN4Hsck311jEm7UhXLcpcMVyg=",
			"signatures:      RSA alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub (256 bytes)",
		}},
		{"package files", "alpine-baselayout-3.2.0-r23.apk", showOptions{files: true}, []string{
			"scripts:         .pre-install .pre-upgrade .post-upgrade .post-install",
			"-rw------- root:root       283 etc/crontabs/root",
			"drwxr-xr-x root:root         0 etc/apk",
		}},
		{"index", "alpine-316/APKINDEX.tar.gz", showOptions{}, []string{
			"kind:         index",
			"description:  v3.16.3-13-g4d933a1fa3",
			"packages:     4929",
			"signatures:   RSA alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub (512 bytes)",
		}},
		{"index entries", "alpine-317/APKINDEX.tar.gz", showOptions{files: true}, []string{
			"packages:     5004",
			"alpine-baselayout-3.4.0-r0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := term.Test()
			app := NewApp(ts.Streams)
			if err := runShowArchive(context.Background(), app, &tt.opts, filepath.Join(dir, tt.file)); err != nil {
				t.Fatal(err)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(ts.OutBuf.String(), "\n") {
				lines[strings.TrimRight(l, " ")] = true
			}
			for _, w := range tt.want {
				if !lines[w] {
					t.Errorf("no line %q in:\n%s", w, ts.OutBuf.String())
				}
			}
		})
	}
}

func TestShowArchiveJSON(t *testing.T) {
	dir := alpinetest.Dir(t)
	ts := term.Test()
	app := NewApp(ts.Streams)
	opts := &showOptions{json: true, files: true}
	if err := runShowArchive(context.Background(), app, opts, filepath.Join(dir, "test_alpine.apk")); err != nil {
		t.Fatal(err)
	}
	var got showArchiveJSON
	if err := json.Unmarshal(ts.OutBuf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range got.Files {
		paths = append(paths, f.Kind+" "+f.Path)
	}
	want := []any{"package", int64(2874), "apache2-ctl", "Q1MMRN4Hsck311jEm7UhXLcpcMVyg=", []string{"dir usr", "dir usr/sbin", "file usr/sbin/apachectl"}, 1}
	if diff := cmp.Diff(want, []any{got.Kind, got.Size, got.Info.Name, got.ID, paths, len(got.Signatures)}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	if err := runShowArchive(context.Background(), app, opts, filepath.Join(dir, "README.md")); err == nil {
		t.Error("showing a text file gave no error")
	}
}
