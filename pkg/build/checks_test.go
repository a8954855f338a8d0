package build

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/scan"
)

func TestTreeChecks(t *testing.T) {
	tests := []struct {
		name      string
		pkg, arch string
		options   []string
		setup     func(t *testing.T, dir string)
		wantErr   string
		wantWarn  string
	}{
		{name: "clean tree", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/share/x/data") }},
		{name: "usr/local", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/local/bin/x") }, wantErr: "usr/local/ is not a place"},
		{name: "usr/local with !fhs", pkg: "x", arch: "noarch", options: []string{"!fhs"}, setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/local/bin/x") }},
		{name: "lib64", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/lib64/") }, wantErr: "usr/lib64/ exists"},
		{name: "uncompressed man page", pkg: "x-doc", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/share/man/man1/x.1") }, wantErr: "not compressed"},
		{name: "docs in main package", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/share/doc/x/README") }, wantWarn: "usr/share/doc belongs in a subpackage"},
		{name: "init script not executable", pkg: "x-openrc", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "etc/init.d/x") }, wantErr: "is not executable"},
		{name: "charset.alias", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/lib/charset.alias") }, wantErr: "charset.alias"},
		{
			name: "setuid executable by others", pkg: "x", arch: "noarch",
			setup: func(t *testing.T, d string) {
				mkfiles(t, d, "usr/bin/x")
				if err := os.Chmod(filepath.Join(d, "usr/bin/x"), os.ModeSetuid|0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "setuid",
		},
		{
			name: "setuid allowed", pkg: "x", arch: "noarch", options: []string{"suid"},
			setup: func(t *testing.T, d string) {
				mkfiles(t, d, "usr/bin/x")
				if err := os.Chmod(filepath.Join(d, "usr/bin/x"), os.ModeSetuid|0o755); err != nil {
					t.Fatal(err)
				}
			},
		},
		{name: "usrmerge", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "bin/x") }, wantWarn: "bin/ at top level"},
		{name: "static library in noarch", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/lib/libx.a") }, wantErr: "noarch package contains"},
		{name: "arch package without binaries", pkg: "x", arch: "x86_64", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/share/x/data") }, wantWarn: "should the package be noarch"},
		{name: "newline in a name", pkg: "x", arch: "noarch", setup: func(t *testing.T, d string) { mkfiles(t, d, "usr/share/a\nb") }, wantErr: "newline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			tree, err := scan.Scan(dir)
			if err != nil {
				t.Fatal(err)
			}
			opts := map[string]bool{}
			for _, o := range tc.options {
				opts[o] = true
			}
			c := &treeCheck{name: tc.pkg, dir: dir, arch: tc.arch, tree: tree, has: func(o string) bool { return opts[o] }}
			c.run()
			errs, warns := strings.Join(c.errs, "\n"), strings.Join(c.warn, "\n")
			if tc.wantErr == "" && errs != "" || !strings.Contains(errs, tc.wantErr) {
				t.Errorf("errors %q, want %q", errs, tc.wantErr)
			}
			if tc.wantWarn != "" && !strings.Contains(warns, tc.wantWarn) {
				t.Errorf("warnings %q, want %q", warns, tc.wantWarn)
			}
		})
	}
}

// TestTreeCheckRpathUsrLib: an rpath of /usr/lib, also through $ORIGIN,
// is redundant and warned about, as abuild's prepare_trace_rpaths does.
func TestTreeCheckRpathUsrLib(t *testing.T) {
	tests := []struct {
		path, rpath string
		warn        bool
	}{
		{"usr/bin/m", "/usr/lib", true},
		{"usr/lib/libm.so", "$ORIGIN", true},
		{"usr/lib/libm.so", "${ORIGIN}", true},
		{"usr/bin/m", "$ORIGIN/../lib", false},
		{"usr/bin/m", "/usr/lib/m", false},
	}
	for _, tc := range tests {
		t.Run(tc.path+" "+tc.rpath, func(t *testing.T) {
			tree := &scan.Tree{Root: t.TempDir(), ELF: []*scan.ELF{{Path: tc.path, Type: elf.ET_DYN, Rpaths: []string{tc.rpath}}}}
			c := &treeCheck{name: "x", dir: tree.Root, arch: "x86_64", tree: tree, has: func(string) bool { return false }}
			c.run()
			got := strings.Contains(strings.Join(c.warn, "\n"), "redundant /usr/lib in rpath")
			if got != tc.warn {
				t.Errorf("warnings %q: redundant /usr/lib warning = %v, want %v", c.warn, got, tc.warn)
			}
			if len(c.errs) > 0 {
				t.Errorf("errors %q", c.errs)
			}
		})
	}
}
