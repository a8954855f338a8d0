package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/sign"
)

var (
	keysOnce             sync.Once
	serverKey, uploadKey *sign.PrivateKey
)

// testKeys returns the server's index signing key and a builder's package
// signing key (2048 bits: the least pkg/sign accepts, and quick to make).
func testKeys(t testing.TB) (*sign.PrivateKey, *sign.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		now := time.Unix(1700000000, 0)
		var err error
		if serverKey, err = sign.GenerateKey(rand.Reader, "repo@example.test", 2048, now); err != nil {
			panic(err)
		}
		if uploadKey, err = sign.GenerateKey(rand.Reader, "builder@example.test", 2048, now.Add(time.Second)); err != nil {
			panic(err)
		}
	})
	return serverKey, uploadKey
}

// keyring returns a keyring trusting the public halves of keys.
func keyring(keys ...*sign.PrivateKey) *sign.Keyring {
	kr := &sign.Keyring{}
	for _, k := range keys {
		kr.Add(k.Name, &k.Key.PublicKey)
	}
	return kr
}

// buildPackage writes a real package NAME-VERSION.apk into out with
// pkg/apk and returns its path.
func buildPackage(t testing.TB, out string, key *sign.PrivateKey, name, version, arch string, extra ...string) string {
	t.Helper()
	tree, err := os.MkdirTemp("", "apkit-pkgtree-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tree)
	doc := filepath.Join(tree, "usr", "share", "doc", name)
	if err := os.MkdirAll(doc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(doc, "README"), []byte(name+" "+version+"\n"+fmt.Sprint(extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, name+"-"+version+".apk")
	var buf bytes.Buffer
	_, err = apk.Write(&buf, &apk.Input{
		Info: apk.PkgInfo{
			Name: name, Version: version, Arch: arch, Description: "test package " + name,
			URL: "https://example.test/" + name, BuildDate: 1700000000, Packager: "Test <builder@example.test>",
			Origin: name, License: "MIT",
		},
		Dir: tree, Key: key, TempDir: tree, Workers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// realEnv is a server with the production validator and repository.
func newRealEnv(t testing.TB, trusted *sign.Keyring) *env {
	srvKey, _ := testKeys(t)
	return newEnv(t, func(o *server.Options) {
		o.Validator = server.PackageValidator{Keys: trusted}
		o.Repository = &server.Repositories{Options: repo.Options{Key: srvKey, Keys: trusted, AllowUntrusted: trusted == nil}}
		o.MaxUploadSize = 8 << 20
		o.Verifier = nil // tokens are tested elsewhere; this is about packages
	})
}

func uploadFiles(t testing.TB, e *env, token string, fields map[string]string, paths ...string) (int, string) {
	t.Helper()
	var parts []part
	for k, v := range fields {
		parts = append(parts, part{k, "", []byte(v)})
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part{"file", filepath.Base(p), b})
	}
	ctype, body := multipartBody(t, parts)
	return e.post(t, token, ctype, body)
}

// servedIndex fetches an index over HTTP and verifies its signature with
// the server's key; it returns the package file names it lists.
func servedIndex(t testing.TB, baseURL, path string) []string {
	t.Helper()
	srvKey, _ := testKeys(t)
	resp, err := http.Get(baseURL + "/" + path + "/" + server.IndexName)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET index: %s", resp.Status)
	}
	ix, err := index.ReadVerified(resp.Body, keyring(srvKey))
	if err != nil {
		t.Fatalf("served index does not verify with the server's key: %v", err)
	}
	var names []string
	for _, r := range ix.Records {
		names = append(names, r.FileName())
	}
	sort.Strings(names)
	return names
}

func TestRealUploadRefusals(t *testing.T) {
	_, upKey := testKeys(t)
	other, err := sign.GenerateKey(rand.Reader, "stranger@example.test", 2048, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	pkgs := t.TempDir()
	good := buildPackage(t, pkgs, upKey, "good", "1.0-r0", "x86_64")
	aarch := buildPackage(t, t.TempDir(), upKey, "armonly", "1.0-r0", "aarch64")
	stranger := buildPackage(t, t.TempDir(), other, "stranger", "1.0-r0", "x86_64")
	unsigned := buildPackage(t, t.TempDir(), nil, "unsigned", "1.0-r0", "x86_64")
	// A package whose data segment is another package's: every member is
	// well formed and the signature holds, but datahash does not match.
	broken := func() string {
		a := buildPackage(t, t.TempDir(), upKey, "broken", "1.0-r0", "x86_64")
		b := buildPackage(t, t.TempDir(), upKey, "broken", "1.0-r0", "x86_64", "other content")
		ab, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		pa, err := apk.Read(bytes.NewReader(ab), nil)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := apk.Read(bytes.NewReader(bb), nil)
		if err != nil {
			t.Fatal(err)
		}
		out := append(ab[:pa.Data.Offset:pa.Data.Offset], bb[pb.Data.Offset:pb.Data.Offset+pb.Data.Length]...)
		p := filepath.Join(t.TempDir(), "broken-1.0-r0.apk")
		os.WriteFile(p, out, 0o644)
		return p
	}()
	flipped := func() string {
		b, _ := os.ReadFile(buildPackage(t, t.TempDir(), upKey, "flipped", "1.0-r0", "x86_64"))
		b[len(b)-40] ^= 0xff // inside the data segment's gzip stream
		p := filepath.Join(t.TempDir(), "flipped-1.0-r0.apk")
		os.WriteFile(p, b, 0o644)
		return p
	}()
	notPkg := filepath.Join(t.TempDir(), "junk-1.0-r0.apk")
	os.WriteFile(notPkg, []byte("#!/bin/sh\necho not a package\n"), 0o644)
	renamed := func() string {
		b, _ := os.ReadFile(good)
		p := filepath.Join(t.TempDir(), "good-9.9-r0.apk")
		os.WriteFile(p, b, 0o644)
		return p
	}()

	tests := []struct {
		name   string
		fields map[string]string
		files  []string
		status int
	}{
		{"other arch", nil, []string{aarch}, 422},
		{"signed by a stranger", nil, []string{stranger}, 422},
		{"unsigned", nil, []string{unsigned}, 422},
		{"broken checksum", nil, []string{broken}, 422},
		{"flipped byte", nil, []string{flipped}, 422},
		{"not a package", nil, []string{notPkg}, 422},
		{"file name not from .PKGINFO", nil, []string{renamed}, 422},
		{"one bad of two", nil, []string{good, broken}, 422},
		{"arch not plain", map[string]string{"arch": "x86_64/../../"}, []string{good}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRealEnv(t, keyring(upKey))
			code, reply := uploadFiles(t, e, "", tc.fields, tc.files...)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, reply)
			}
			t.Logf("%d %s", code, reply)
			if got := e.stored(t); len(got) != 0 {
				t.Errorf("stored after refusal: %v", got)
			}
		})
	}
}

func TestRealUploadAndConflict(t *testing.T) {
	_, upKey := testKeys(t)
	e := newRealEnv(t, keyring(upKey))
	a := buildPackage(t, t.TempDir(), upKey, "alpha", "1.0-r0", "x86_64")
	n := buildPackage(t, t.TempDir(), upKey, "beta", "2.0-r1", "noarch")
	if code, reply := uploadFiles(t, e, "", map[string]string{"version": "v3.20", "repo": "main"}, a, n); code != 200 {
		t.Fatalf("upload: %d %s", code, reply)
	}
	if diff := cmpStrings([]string{"alpha-1.0-r0.apk", "beta-2.0-r1.apk"}, servedIndex(t, e.http.URL, "v3.20/main/x86_64")); diff != "" {
		t.Error(diff)
	}
	// The identical file again changes nothing and is fine.
	if code, reply := uploadFiles(t, e, "", map[string]string{"version": "v3.20", "repo": "main"}, a); code != 200 {
		t.Fatalf("same upload again: %d %s", code, reply)
	}
	// A different build under the same name is a conflict, and nothing changes.
	other2 := buildPackage(t, t.TempDir(), upKey, "alpha", "1.0-r0", "x86_64", "rebuilt")
	before, _ := os.ReadFile(filepath.Join(e.dir, "v3.20/main/x86_64", server.IndexName))
	if code, reply := uploadFiles(t, e, "", map[string]string{"version": "v3.20", "repo": "main"}, other2); code != 409 {
		t.Fatalf("conflict: %d %s", code, reply)
	}
	after, _ := os.ReadFile(filepath.Join(e.dir, "v3.20/main/x86_64", server.IndexName))
	if !bytes.Equal(before, after) {
		t.Error("index changed after a conflict")
	}
}

func cmpStrings(want, got []string) string {
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	return ""
}

// TestRealConcurrentUploads sends 50 distinct packages at once into one
// repository: all 50 must be in the index, which must verify.
func TestRealConcurrentUploads(t *testing.T) {
	_, upKey := testKeys(t)
	e := newRealEnv(t, keyring(upKey))
	dir := t.TempDir()
	var paths []string
	for i := range 50 {
		paths = append(paths, buildPackage(t, dir, upKey, fmt.Sprintf("conc%02d", i), "1.0-r0", "x86_64"))
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(paths))
	for _, p := range paths {
		wg.Go(func() {
			if code, reply := uploadFiles(t, e, "", nil, p); code != 200 {
				errs <- fmt.Sprintf("%s: %d %s", filepath.Base(p), code, reply)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []string
	for _, p := range paths {
		want = append(want, filepath.Base(p))
	}
	sort.Strings(want)
	if diff := cmpStrings(want, servedIndex(t, e.http.URL, "edge/main/x86_64")); diff != "" {
		t.Error(diff)
	}
}

var (
	seedOnce sync.Once
	seedDir  string
	seedErr  error
)

// seededRepo returns a directory edge/main/x86_64 holding a repository of
// 5,000 real packages (unsigned, which the repository takes as it allows
// untrusted packages) added with one Add. It is made once per test binary
// run and must not be changed: copy it with linkTree.
func seededRepo(b testing.TB) string {
	b.Helper()
	srvKey, _ := testKeys(b)
	seedOnce.Do(func() {
		seedDir, seedErr = os.MkdirTemp("", "apkit-seed-")
		if seedErr != nil {
			return
		}
		src := filepath.Join(seedDir, "src")
		os.MkdirAll(src, 0o755)
		paths := make([]string, 5000)
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Go(func() {
				for i := range next {
					paths[i] = buildPackage(b, src, nil, fmt.Sprintf("seed%05d", i), "1.0-r0", "x86_64")
				}
			})
		}
		for i := range paths {
			next <- i
		}
		close(next)
		wg.Wait()
		r, err := repo.Open(filepath.Join(seedDir, "tree", "edge", "main", "x86_64"), repo.Options{Key: srvKey, AllowUntrusted: true})
		if err != nil {
			seedErr = err
			return
		}
		_, seedErr = r.Add(context.Background(), paths...)
		os.RemoveAll(src)
	})
	if seedErr != nil {
		b.Fatal(seedErr)
	}
	return filepath.Join(seedDir, "tree")
}

// linkTree copies the tree src into dst with hard links: the repository
// replaces its index by rename and never writes a package in place, so the
// source is left as it was.
func linkTree(b testing.TB, src, dst string) {
	b.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return os.Link(p, filepath.Join(dst, rel))
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkUploadInto5000 measures the server time of one upload (form
// parsing, validation, index update and signature) into a repository that
// already holds 5,000 packages. Building each package is not timed.
func BenchmarkUploadInto5000(b *testing.B) {
	tree := seededRepo(b)
	e := newRealEnv(b, nil)
	linkTree(b, tree, e.dir)
	src := b.TempDir()
	i := 0
	for b.Loop() {
		b.StopTimer()
		p := buildPackage(b, src, nil, fmt.Sprintf("bench%06d", i), "1.0-r0", "x86_64")
		i++
		raw, _ := os.ReadFile(p)
		ctype, body := multipartBody(b, []part{{"file", filepath.Base(p), raw}})
		req := httptest.NewRequest(http.MethodPost, "/upload", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		b.StartTimer()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("upload %d: %d %s", i, w.Code, w.Body.String())
		}
	}
	b.StopTimer()
	if got := len(servedIndex(b, e.http.URL, "edge/main/x86_64")); got != 5000+i {
		b.Fatalf("index lists %d packages, want %d", got, 5000+i)
	}
}

// BenchmarkConcurrentUploads measures uploads per second with 8 clients
// posting distinct packages over HTTP at once into one repository, empty at
// the start or holding 5,000 packages.
func BenchmarkConcurrentUploads(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchConcurrent(b, false) })
	b.Run("5000", func(b *testing.B) { benchConcurrent(b, true) })
}

func benchConcurrent(b *testing.B, seeded bool) {
	var tree string
	if seeded {
		tree = seededRepo(b)
	}
	e := newRealEnv(b, nil)
	if seeded {
		linkTree(b, tree, e.dir)
	}
	src := b.TempDir()
	type body struct {
		ctype string
		data  []byte
	}
	bodies := make(chan body, b.N)
	for i := range b.N {
		p := buildPackage(b, src, nil, fmt.Sprintf("load%06d", i), "1.0-r0", "x86_64")
		raw, _ := os.ReadFile(p)
		ct, data := multipartBody(b, []part{{"file", filepath.Base(p), raw}})
		bodies <- body{ct, data}
	}
	close(bodies)
	client := e.http.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 8
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for bd := range bodies {
				req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/upload", bytes.NewReader(bd.data))
				req.Header.Set("Content-Type", bd.ctype)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
}

// TestUploadDoesNotRescan shows that an upload reads only the new package:
// with the other packages' files gone (their index entries kept), the new
// index still lists them all plus the new one.
func TestUploadDoesNotRescan(t *testing.T) {
	srvKey, _ := testKeys(t)
	e := newRealEnv(t, nil)
	arch := filepath.Join(e.dir, "edge", "main", "x86_64")
	src := t.TempDir()
	var seed []string
	for i := range 30 {
		seed = append(seed, buildPackage(t, src, nil, fmt.Sprintf("old%02d", i), "1.0-r0", "x86_64"))
	}
	r, err := repo.Open(arch, repo.Options{Key: srvKey, AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(context.Background(), seed...); err != nil {
		t.Fatal(err)
	}
	for _, p := range seed {
		if err := os.Remove(filepath.Join(arch, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	if code, reply := uploadFiles(t, e, "", nil, buildPackage(t, src, nil, "new", "1.0-r0", "x86_64")); code != 200 {
		t.Fatalf("upload: %d %s", code, reply)
	}
	if got := servedIndex(t, e.http.URL, "edge/main/x86_64"); len(got) != 31 {
		t.Errorf("index lists %d packages, want 31: %v", len(got), got)
	}
}

// TestConcurrentUploadsWithAConflict sends uploads at once, one of which
// conflicts with a package already there: uploads committed together must
// not fail with it, and it must fail whole.
func TestConcurrentUploadsWithAConflict(t *testing.T) {
	_, upKey := testKeys(t)
	e := newRealEnv(t, keyring(upKey))
	dir := t.TempDir()
	first := buildPackage(t, filepath.Join(dir, "first"), upKey, "taken", "1.0-r0", "x86_64")
	if code, reply := uploadFiles(t, e, "", nil, first); code != 200 {
		t.Fatalf("first upload: %d %s", code, reply)
	}
	rebuilt := buildPackage(t, filepath.Join(dir, "rebuilt"), upKey, "taken", "1.0-r0", "x86_64", "rebuilt")
	partner := buildPackage(t, filepath.Join(dir, "rebuilt"), upKey, "partner", "1.0-r0", "x86_64")
	var goods []string
	for i := range 12 {
		goods = append(goods, buildPackage(t, dir, upKey, fmt.Sprintf("ok%02d", i), "1.0-r0", "x86_64"))
	}
	for round := range 3 {
		var wg sync.WaitGroup
		codes := make([]int, len(goods)/3)
		var conflict int
		for i := range codes {
			p := goods[round*len(codes)+i]
			wg.Go(func() { codes[i], _ = uploadFiles(t, e, "", nil, p) })
		}
		wg.Go(func() { conflict, _ = uploadFiles(t, e, "", nil, rebuilt, partner) })
		wg.Wait()
		for i, c := range codes {
			if c != 200 {
				t.Errorf("round %d: good upload %d: status %d", round, i, c)
			}
		}
		if conflict != 409 {
			t.Errorf("round %d: conflicting upload: status %d, want 409", round, conflict)
		}
	}
	want := []string{"taken-1.0-r0.apk"}
	for _, g := range goods {
		want = append(want, filepath.Base(g))
	}
	sort.Strings(want)
	if diff := cmpStrings(want, servedIndex(t, e.http.URL, "edge/main/x86_64")); diff != "" {
		t.Error(diff)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "edge/main/x86_64/partner-1.0-r0.apk")); err == nil {
		t.Error("the conflicting upload's other file was added")
	}
}

// TestRealUploadEntryLimit checks that the validator reads uploads with
// its own entry limit: a package with more data entries than
// PackageValidator.MaxEntries is refused with 422.
func TestRealUploadEntryLimit(t *testing.T) {
	_, upKey := testKeys(t)
	// The package has a handful of entries: its directories and README.
	pkg := buildPackage(t, t.TempDir(), upKey, "many", "1.0-r0", "x86_64")
	tests := []struct {
		name   string
		max    int
		status int
	}{
		{"default", 0, 200},
		{"under the limit", 100, 200},
		{"over the limit", 2, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srvKey, _ := testKeys(t)
			e := newEnv(t, func(o *server.Options) {
				o.Validator = server.PackageValidator{Keys: keyring(upKey), MaxEntries: tc.max}
				o.Repository = &server.Repositories{Options: repo.Options{Key: srvKey, Keys: keyring(upKey)}}
				o.MaxUploadSize = 8 << 20
				o.Verifier = nil
			})
			code, reply := uploadFiles(t, e, "", nil, pkg)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, reply)
			}
		})
	}
}
