package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// longDescPackage writes an unsigned package NAME-1.0-r0.apk whose
// .PKGINFO has a pkgdesc of n bytes, longer than apk reads: pkg/apk
// refuses to write one, so it is made from a written package by replacing
// its control member.
func longDescPackage(t *testing.T, name string, n int) string {
	t.Helper()
	return editControl(t, name, func(info []byte) []byte {
		return regexp.MustCompile(`(?m)^pkgdesc = .*$`).ReplaceAll(info, []byte("pkgdesc = "+strings.Repeat("d", n)))
	}, nil)
}

// editControl writes an unsigned package NAME-1.0-r0.apk whose control
// member holds the .PKGINFO of a written package changed by edit, then
// tail.
func editControl(t *testing.T, name string, edit func([]byte) []byte, tail []byte) string {
	t.Helper()
	written := buildPackage(t, t.TempDir(), nil, name, "1.0-r0", "x86_64")
	data, err := os.ReadFile(written)
	if err != nil {
		t.Fatal(err)
	}
	m := sign.NewMemberReader(bytes.NewReader(data))
	ctl, err := m.Next()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(ctl)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ".PKGINFO" {
		t.Fatalf("first control entry %v: %v", hdr, err)
	}
	info, _ := io.ReadAll(tr)
	info = edit(info)
	if _, err := m.Finish(); err != nil {
		t.Fatal(err)
	}
	dataStart := m.End()

	var raw, out bytes.Buffer
	tw := tar.NewWriter(&raw)
	hdr.Size = int64(len(info))
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	tw.Write(info)
	tw.Flush() // cut, as abuild-tar --cut
	raw.Write(tail)
	zw := gzip.NewWriter(&out)
	zw.Write(raw.Bytes())
	zw.Close()
	out.Write(data[dataStart:])
	path := filepath.Join(t.TempDir(), name+"-1.0-r0.apk")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// anyValidator accepts every file as the package it names.
type anyValidator server.Package

func (v anyValidator) Validate(context.Context, string) (*server.Package, error) {
	p := server.Package(v)
	return &p, nil
}

// TestUploadLongPkgInfoLine uploads a package with a 200 KB pkgdesc: an
// index that held it would be unreadable by apk, and with it every
// package of the repository. The upload is refused with 422 whichever
// check sees it first, the validator or the repository.
func TestUploadLongPkgInfoLine(t *testing.T) {
	pkg := longDescPackage(t, "long", 200_000)
	if _, err := apk.Read(bytes.NewReader(must(os.ReadFile(pkg))), nil); err == nil {
		t.Fatal("the crafted package reads without error")
	}
	envs := map[string]func(t *testing.T) *env{
		"validator": func(t *testing.T) *env { return newRealEnv(t, nil) },
		"repository": func(t *testing.T) *env {
			srvKey, _ := testKeys(t)
			return newEnv(t, func(o *server.Options) {
				o.Validator = anyValidator{Name: "long", Version: "1.0-r0", Arch: "x86_64"}
				o.Repository = &server.Repositories{Options: repo.Options{Key: srvKey, AllowUntrusted: true}}
				o.MaxUploadSize = 8 << 20
				o.Verifier = nil
			})
		},
	}
	for name, newEnv := range envs {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			code, reply := uploadFiles(t, e, "", nil, pkg)
			if code != 422 || !strings.Contains(reply, "pkgdesc") {
				t.Fatalf("status %d (%s), want 422 naming pkgdesc", code, reply)
			}
			if got := e.stored(t); len(got) != 0 {
				t.Errorf("stored after refusal: %v", got)
			}
		})
	}
}

// TestUploadLongMetadata uploads a package with a 3000-byte pkgdesc: apk
// reads its index record, but writes the lines before D: into its database
// of installed packages through a 2048-byte buffer, and installing it
// would truncate that database. The repository refuses it with 422.
func TestUploadLongMetadata(t *testing.T) {
	pkg := longDescPackage(t, "meta", 3000)
	e := newRealEnv(t, nil)
	code, reply := uploadFiles(t, e, "", nil, pkg)
	if code != 422 || !strings.Contains(reply, "T (pkgdesc)") {
		t.Fatalf("status %d (%s), want 422 naming T (pkgdesc)", code, reply)
	}
	// The repository's lock file may stay; no package or index may.
	for _, f := range e.stored(t) {
		if filepath.Base(f) != ".apkit.lock" {
			t.Errorf("stored after refusal: %s", f)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestUploadControlEndBlocks uploads a package whose control member keeps
// tar's end-of-archive blocks: apk stops reading the package there and
// refuses it as "BAD archive", so the upload is refused with 422.
func TestUploadControlEndBlocks(t *testing.T) {
	same := func(b []byte) []byte { return b }
	for _, tc := range []struct {
		name   string
		tail   int
		status int
	}{
		{"cut", 0, 200},
		{"end-of-archive blocks", 1024, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := editControl(t, "ends", same, make([]byte, tc.tail))
			e := newRealEnv(t, nil)
			code, reply := uploadFiles(t, e, "", nil, pkg)
			if code != tc.status {
				t.Fatalf("status %d (%s), want %d", code, reply, tc.status)
			}
			if code == 422 && !strings.Contains(reply, "BAD archive") {
				t.Errorf("reply %s does not say BAD archive", reply)
			}
		})
	}
}
