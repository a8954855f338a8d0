package install_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/install"
)

// benchPackages are the 25 packages of 40 files each that the install
// benchmarks install.
func benchPackages() (pkgs []testPkg, names []string) {
	for i := range 25 {
		p := testPkg{name: fmt.Sprintf("pkg%02d", i), version: "1.0-r0",
			files: []entry{{path: "usr/"}, {path: "usr/share/"}, {path: fmt.Sprintf("usr/share/pkg%02d/", i)}}}
		for j := range 40 {
			p.files = append(p.files, entry{path: fmt.Sprintf("usr/share/pkg%02d/file%02d", i, j),
				content: strings.Repeat(fmt.Sprintf("package %d file %d\n", i, j), 200)})
		}
		pkgs = append(pkgs, p)
		names = append(names, p.name)
	}
	return pkgs, names
}

// benchRepo serves the benchmark packages over http.
func benchRepo(b *testing.B) (url string, names []string, repo string) {
	b.Helper()
	repo = b.TempDir()
	pkgs, names := benchPackages()
	buildRepo(b, repo, testKey(b), pkgs...)
	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	b.Cleanup(srv.Close)
	return srv.URL, names, repo
}

var benchRepoDir = flag.String("bench-repo", "", "write the install benchmark's repository (and its public key, in keys/) to `dir`, for bench/add-install.sh")

// TestWriteBenchRepo writes the benchmark repository where -bench-repo
// says, so that a script can time apkit add against apk add on it.
func TestWriteBenchRepo(t *testing.T) {
	if *benchRepoDir == "" {
		t.Skip("writes a benchmark repository only when -bench-repo DIR is given")
	}
	pkgs, _ := benchPackages()
	buildRepo(t, *benchRepoDir, testKey(t), pkgs...)
	k := testKey(t)
	pub, err := x509.MarshalPKIXPublicKey(&k.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(*benchRepoDir, "keys")
	if err := os.MkdirAll(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	if err := os.WriteFile(filepath.Join(keys, k.Name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkInstall25 installs 25 packages from a warm cache into a fresh
// root (scripts off); BenchmarkVerify25 only reads and verifies the same
// files, the floor an install cannot go below.
func BenchmarkInstall25(b *testing.B) {
	url, names, _ := benchRepo(b)
	ctx := context.Background()
	f := &install.Fetch{Cache: b.TempDir()}
	r, err := install.OpenRepository(ctx, url, arch, testKeyring(b), f)
	if err != nil {
		b.Fatal(err)
	}
	plan := planOf(b, r, names...)
	opts := &install.Options{Arch: arch, Fetch: *f, NoScripts: true}
	if _, err := install.Install(ctx, b.TempDir(), plan, opts); err != nil { // warms the cache
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := install.Install(ctx, filepath.Join(b.TempDir(), fmt.Sprint(i)), plan, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify25(b *testing.B) {
	_, names, repo := benchRepo(b)
	kr := testKeyring(b)
	for b.Loop() {
		for _, n := range names {
			f, err := os.Open(filepath.Join(repo, arch, n+"-1.0-r0.apk"))
			if err != nil {
				b.Fatal(err)
			}
			res := apk.Verify(f, kr, &apk.VerifyOptions{Read: apk.ReadOptions{NoFileList: true}})
			f.Close()
			if res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
}

// BenchmarkWriteFiles25 writes the same 1,000 files with os.WriteFile into
// a fresh tree: what creating them costs on this file system, without
// packages, checks or a database.
func BenchmarkWriteFiles25(b *testing.B) {
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		for p := range 25 {
			d := filepath.Join(dir, fmt.Sprint(i), "usr", "share", fmt.Sprintf("pkg%02d", p))
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
			for j := range 40 {
				data := strings.Repeat(fmt.Sprintf("package %d file %d\n", p, j), 200)
				if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("file%02d", j)), []byte(data), 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
