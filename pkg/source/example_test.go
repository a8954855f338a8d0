package source_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/apkit-dev/apkit/pkg/source"
)

// Fetch a recipe's sources into a cache and verify them.
func ExampleFetch() {
	body := []byte("hello, world\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	patch := filepath.Join(dir, "fix.patch")
	os.WriteFile(patch, []byte("--- a\n+++ b\n"), 0o644)

	items := []source.Item{
		{Name: "hello-1.0.tar.gz", URL: srv.URL + "/hello-1.0.tar.gz"},
		{Name: "fix.patch", Local: patch},
	}
	items, err := source.WithChecksums(items, source.SHA512, []source.FileSum{
		{Digest: sha512hex(body), Name: "hello-1.0.tar.gz"},
		{Digest: sha512hex([]byte("--- a\n+++ b\n")), Name: "fix.patch"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := source.Fetch(context.Background(), items, source.Options{
		Cache: filepath.Join(dir, "distfiles"),
		Jobs:  2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		rel, _ := filepath.Rel(dir, r.Path)
		fmt.Println(r.Item.Name, rel, r.Downloaded)
	}
	// Output:
	// hello-1.0.tar.gz distfiles/hello-1.0.tar.gz true
	// fix.patch fix.patch false
}

// Fetch offline: nothing goes to the network, and every missing file is named.
func ExampleFetch_offline() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	_, err := source.Fetch(context.Background(), []source.Item{
		{Name: "hello-1.0.tar.gz", URL: "https://example.org/hello-1.0.tar.gz"},
	}, source.Options{Cache: dir, Offline: true})
	fmt.Println(errors.Is(err, source.ErrOffline))
	fmt.Println(err)
	// Output:
	// true
	// offline: 1 source(s) missing from the cache:
	//   hello-1.0.tar.gz (from https://example.org/hello-1.0.tar.gz)
}

// Verify a file; a mismatch names both digests.
func ExampleVerify() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "fix.patch")
	os.WriteFile(path, []byte("tampered\n"), 0o644)
	err := source.Verify(path, source.Checksum{Algo: source.SHA256, Digest: strings.Repeat("0", 64)})
	var ce *source.ChecksumError
	if errors.As(err, &ce) {
		fmt.Println(ce.Name, ce.Algo, ce.Got[:16])
	}
	// Output:
	// fix.patch sha256 92e78d0b032962f4
}

// Unpack an archive into $srcdir; a hostile entry is refused.
func ExampleUnpack() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello-1.0/README", Mode: 0o644, Size: 3})
	tw.Write([]byte("hi\n"))
	tw.WriteHeader(&tar.Header{Name: "../../etc/evil", Mode: 0o644})
	tw.Close()
	archive := filepath.Join(dir, "hello-1.0.tar")
	os.WriteFile(archive, buf.Bytes(), 0o644)

	err := source.Unpack(context.Background(), archive, filepath.Join(dir, "src"), source.UnpackOptions{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, source.ErrUnsafeArchive))
	b, _ := os.ReadFile(filepath.Join(dir, "src", "hello-1.0", "README"))
	fmt.Printf("%q\n", b)
	// Output:
	// unpack hello-1.0.tar: entry "../../etc/evil": path escapes the destination with ..
	// true
	// "hi\n"
}

// Fill $srcdir: a link per source, archives extracted.
func ExamplePopulate() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello-1.0/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "hello-1.0/configure", Mode: 0o755, Size: 10})
	tw.Write([]byte("#!/bin/sh\n"))
	tw.Close()
	archive := filepath.Join(dir, "hello-1.0.tar")
	os.WriteFile(archive, buf.Bytes(), 0o644)
	patch := filepath.Join(dir, "fix.patch")
	os.WriteFile(patch, []byte("--- a\n"), 0o644)

	results := []source.Result{
		{Item: source.Item{Name: "hello-1.0.tar", URL: "https://example.org/hello-1.0.tar"}, Path: archive},
		{Item: source.Item{Name: "fix.patch", Local: patch}, Path: patch},
	}
	srcdir := filepath.Join(dir, "src")
	if err := source.Populate(context.Background(), results, srcdir, source.UnpackOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	entries, _ := os.ReadDir(srcdir)
	for _, e := range entries {
		fmt.Println(e.Name(), e.Type())
	}
	// Output:
	// fix.patch L---------
	// hello-1.0 d---------
	// hello-1.0.tar L---------
}

// Rewrite the checksum block of an APKBUILD, keeping every other byte.
func ExampleRewriteChecksums() {
	apkbuild := "pkgname=hello\nsource=\"fix.patch\"\n\nsha512sums=\"\nold  fix.patch\n\"\n"
	out, err := source.RewriteChecksums([]byte(apkbuild), []source.FileSum{
		{Digest: strings.Repeat("ab", 64), Name: "fix.patch"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(string(out), strings.Repeat("ab", 64), "abab…"))
	// Output:
	// pkgname=hello
	// source="fix.patch"
	//
	// sha512sums="
	// abab…  fix.patch
	// "
}

func sha512hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}
