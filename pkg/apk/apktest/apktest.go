// Package apktest lays out the trees that tests make packages from, and
// writes the packages and signed indexes.
package apktest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
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

// WritePackage writes in as dir/NAME-VERSION.apk and returns its index
// record.
func WritePackage(t testing.TB, dir string, in *apk.Input) *index.Record {
	t.Helper()
	var buf bytes.Buffer
	p, err := apk.Write(&buf, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, in.Info.Name+"-"+in.Info.Version+".apk"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return index.FromPackage(p, int64(buf.Len()))
}

// WriteIndex writes dir/APKINDEX.tar.gz of recs, sorted, signed with key.
func WriteIndex(t testing.TB, dir string, key *sign.PrivateKey, recs []*index.Record) {
	t.Helper()
	sorted := slices.Clone(recs)
	index.Sort(sorted)
	var buf bytes.Buffer
	if err := index.WriteSigned(&buf, &index.Index{Description: "test", Records: sorted}, key, sign.RSA); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "APKINDEX.tar.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Info returns the .PKGINFO of a test package name-version for arch, with
// the other fields a package needs filled in alike for every test.
func Info(name, version, arch string) apk.PkgInfo {
	return apk.PkgInfo{
		Name:        name,
		Version:     version,
		Description: "test package " + name,
		URL:         "https://example.com/" + name,
		BuildDate:   1700000000,
		Packager:    "Test <test@example.com>",
		Arch:        arch,
		Origin:      name,
		License:     "MIT",
	}
}
