package cli

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/auth/authtest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// e2e is a real `apkit serve` with a test identity provider, a signing
// key, trusted upload keys and packages built by apkit.
type e2e struct {
	dir      string
	url      string
	idp      *authtest.Provider
	srvKey   *sign.PrivateKey
	buildKey *sign.PrivateKey
	env      map[string]string
	stop     func() (string, error)
}

func writeKeyFiles(t *testing.T, k *sign.PrivateKey, privDir, pubDir string) string {
	t.Helper()
	os.MkdirAll(privDir, 0o700)
	os.MkdirAll(pubDir, 0o755)
	priv, err := sign.MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.MarshalPublicKey(&k.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(privDir, k.PrivateFileName())
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pubDir, k.Name), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildTestPackage writes a package of a one-file tree with pkg/apk.
func buildTestPackage(t *testing.T, out string, key *sign.PrivateKey, name, version, arch string, size int) string {
	t.Helper()
	tree := t.TempDir()
	doc := filepath.Join(tree, "usr", "share", "doc", name)
	os.MkdirAll(doc, 0o755)
	content := make([]byte, size)
	rand.Read(content) // incompressible, so the package is as large as asked
	os.WriteFile(filepath.Join(doc, "README"), append([]byte(name+" "+version+"\n"), content...), 0o644)
	os.MkdirAll(out, 0o755)
	path := filepath.Join(out, name+"-"+version+".apk")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = apk.Write(f, &apk.Input{
		Info: apk.PkgInfo{Name: name, Version: version, Arch: arch, Description: "e2e " + name,
			URL: "https://example.test", BuildDate: 1700000000, Packager: "Builder <builder@example.test>",
			Origin: name, License: "MIT"},
		Dir: tree, Key: key, TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func startE2E(t *testing.T, args ...string) *e2e {
	t.Helper()
	idp, err := authtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	dir := t.TempDir()
	now := time.Unix(1700000000, 0)
	srvKey, err := sign.GenerateKey(rand.Reader, "repo@example.test", 2048, now)
	if err != nil {
		t.Fatal(err)
	}
	buildKey, err := sign.GenerateKey(rand.Reader, "builder@example.test", 2048, now)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := writeKeyFiles(t, srvKey, filepath.Join(dir, "keys"), filepath.Join(dir, "pub"))
	writeKeyFiles(t, buildKey, filepath.Join(dir, "builder"), filepath.Join(dir, "upload-keys"))
	cfg := fmt.Sprintf(`dir: %s
signing_key: %s
upload_keys: %s
max_upload_size: 1MiB
jwt:
  jwks: %s
  issuer: %s
  audience: %s
  claims:
    project_path: group/*
    ref: [main, "release-*"]
`, filepath.Join(dir, "repo"), keyPath, filepath.Join(dir, "upload-keys"), idp.JWKSURL, idp.Issuer, authtest.Audience)
	cfgPath := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": cfgPath}
	url, stop := startServe(t, env, args...)
	return &e2e{dir: dir, url: url, idp: idp, srvKey: srvKey, buildKey: buildKey, env: env, stop: stop}
}

// runApkit runs apkit in-process with the given environment.
func runApkit(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ts := term.Test()
	app := NewApp(ts.Streams)
	app.Getenv = func(k string) string { return env[k] }
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetOut(ts.Out)
	root.SetErr(ts.ErrOut)
	cmd, err := root.ExecuteC()
	code := 0
	if err != nil {
		code = reportError(t.Context(), ts.Streams, cmd, err)
	}
	return code, ts.OutBuf.String(), ts.ErrBuf.String()
}

// index fetches and verifies a served index; it returns its file names.
func (e *e2e) index(t *testing.T, path string) []string {
	t.Helper()
	resp, err := http.Get(e.url + "/" + path + "/APKINDEX.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s index: %s", path, resp.Status)
	}
	kr := &sign.Keyring{}
	kr.Add(e.srvKey.Name, &e.srvKey.Key.PublicKey)
	ix, err := index.ReadVerified(resp.Body, kr)
	if err != nil {
		t.Fatalf("served index %s does not verify with the server's key: %v", path, err)
	}
	var names []string
	for _, r := range ix.Records {
		names = append(names, r.FileName())
	}
	sort.Strings(names)
	return names
}

// snapshot lists every file under the served tree with its size and
// modification time, to show that a refused request stored nothing.
func (e *e2e) snapshot(t *testing.T) []string {
	t.Helper()
	var out []string
	root := filepath.Join(e.dir, "repo")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, _ := d.Info()
		rel, _ := filepath.Rel(root, p)
		out = append(out, fmt.Sprintf("%s %d %d", rel, fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	sort.Strings(out)
	return out
}

func TestE2EUploadLandsAndIndexVerifies(t *testing.T) {
	e := startE2E(t)
	repodest := filepath.Join(e.dir, "repodest")
	buildTestPackage(t, filepath.Join(repodest, "main", "x86_64"), e.buildKey, "hello", "2.12.1-r0", "x86_64", 100)
	buildTestPackage(t, filepath.Join(repodest, "main", "x86_64"), e.buildKey, "hello-doc", "2.12.1-r0", "noarch", 100)
	buildTestPackage(t, filepath.Join(repodest, "community", "aarch64"), e.buildKey, "tool", "1.0-r0", "aarch64", 100)
	tok, err := e.idp.Token("project_path:group/app:ref_type:branch:ref:main")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": e.dir, "APKIT_CONFIG": filepath.Join(e.dir, "none.yaml"), "CI_JOB_JWT_V2": tok}
	code, stdout, stderr := runApkit(t, env, "upload", "--url", e.url, "--version", "v3.20", repodest)
	if code != 0 {
		t.Fatalf("apkit upload: exit %d\n%s", code, stderr)
	}
	want := "v3.20/community/aarch64/tool-1.0-r0.apk\nv3.20/main/x86_64/hello-2.12.1-r0.apk\nv3.20/main/x86_64/hello-doc-2.12.1-r0.apk\n"
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("upload output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"hello-2.12.1-r0.apk", "hello-doc-2.12.1-r0.apk"}, e.index(t, "v3.20/main/x86_64")); diff != "" {
		t.Errorf("main index (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tool-1.0-r0.apk"}, e.index(t, "v3.20/community/aarch64")); diff != "" {
		t.Errorf("community index (-want +got):\n%s", diff)
	}
	// The package itself is served as uploaded.
	orig, _ := os.ReadFile(filepath.Join(repodest, "main", "x86_64", "hello-2.12.1-r0.apk"))
	resp, err := http.Get(e.url + "/v3.20/main/x86_64/hello-2.12.1-r0.apk")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(orig, served) {
		t.Error("served package differs from the uploaded one")
	}
	log, err := e.stop()
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	// One audit line per accepted upload, never the token.
	if n := strings.Count(log, "upload accepted"); n != 2 {
		t.Errorf("%d audit lines, want 2:\n%s", n, log)
	}
	if !strings.Contains(log, "project_path=group/project") || strings.Contains(log, tok) {
		t.Errorf("audit log lacks the project or holds the token:\n%s", log)
	}
}

// TestE2EAttacks sends each hostile request to a real apkit serve: each is
// refused with the right status, and nothing in the served tree changes.
func TestE2EAttacks(t *testing.T) {
	e := startE2E(t)
	pkgs := filepath.Join(e.dir, "pkgs")
	seed := buildTestPackage(t, pkgs, e.buildKey, "seed", "1.0-r0", "x86_64", 10)
	good := buildTestPackage(t, pkgs, e.buildKey, "good", "1.0-r0", "x86_64", 10)
	arm := buildTestPackage(t, pkgs, e.buildKey, "armonly", "1.0-r0", "aarch64", 10)
	big := buildTestPackage(t, pkgs, e.buildKey, "big", "1.0-r0", "x86_64", 2<<20)
	untrusted := buildTestPackage(t, pkgs, nil, "unsigned", "1.0-r0", "x86_64", 10)
	// A package whose data segment is another build's: well formed and
	// signed, but its datahash no longer holds.
	broken := func() []byte {
		a, _ := os.ReadFile(buildTestPackage(t, t.TempDir(), e.buildKey, "broken", "1.0-r0", "x86_64", 10))
		b, _ := os.ReadFile(buildTestPackage(t, t.TempDir(), e.buildKey, "broken", "1.0-r0", "x86_64", 10))
		pa, err := apk.Read(bytes.NewReader(a), nil)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := apk.Read(bytes.NewReader(b), nil)
		if err != nil {
			t.Fatal(err)
		}
		return append(a[:pa.Data.Offset:pa.Data.Offset], b[pb.Data.Offset:]...)
	}()
	read := func(p string) []byte { b, _ := os.ReadFile(p); return b }

	// A first good upload, so that there is an index to keep intact.
	claims := func(mod func(map[string]any)) map[string]any {
		c := e.idp.Claims("job")
		c["project_path"] = "group/app"
		if mod != nil {
			mod(c)
		}
		return c
	}
	rs := func(c map[string]any) string {
		s, err := e.idp.RS256(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tok := rs(claims(nil))
	if code, body := postForm(t, e.url, tok, nil, map[string][]byte{"seed-1.0-r0.apk": read(seed)}); code != 200 {
		t.Fatalf("seed upload: %d %s", code, body)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&e.idp.RSA.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs256, err := authtest.Sign(jose.HS256, pubPEM, authtest.RSAKeyID, claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims(nil))
	b64 := base64.RawURLEncoding.EncodeToString
	none := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(payload) + "."
	unknownKid, _ := authtest.Sign(jose.RS256, e.idp.RSA, "rotated-away", claims(nil))
	goodFile := map[string][]byte{"good-1.0-r0.apk": read(good)}

	tests := []struct {
		name   string
		token  string
		fields map[string]string
		files  map[string][]byte
		status int
	}{
		{"no token", "", nil, goodFile, 401},
		{"malformed token", "eyJhbGciOi.not-a-token", nil, goodFile, 401},
		{"expired", rs(claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), nil, goodFile, 401},
		{"not yet valid", rs(claims(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), nil, goodFile, 401},
		{"wrong issuer", rs(claims(func(c map[string]any) { c["iss"] = "https://gitlab.evil.test" })), nil, goodFile, 401},
		{"wrong audience", rs(claims(func(c map[string]any) { c["aud"] = "https://elsewhere.test" })), nil, goodFile, 401},
		{"claim mismatch", rs(claims(func(c map[string]any) { c["ref"] = "feature" })), nil, goodFile, 403},
		{"alg none", none, nil, goodFile, 401},
		{"hs256 with the public key", hs256, nil, goodFile, 401},
		{"unknown kid", unknownKid, nil, goodFile, 401},
		{"path in version", tok, map[string]string{"version": "../../etc"}, goodFile, 400},
		{"path in repo", tok, map[string]string{"repo": "main/../../x"}, goodFile, 400},
		{"path in arch", tok, map[string]string{"arch": "x86_64/.."}, goodFile, 400},
		{"path in file name", tok, nil, map[string][]byte{"../../good-1.0-r0.apk": read(good)}, 400},
		{"not a package", tok, nil, map[string][]byte{"good-1.0-r0.apk": []byte("#!/bin/sh\nrm -rf /\n")}, 422},
		{"broken checksum", tok, nil, map[string][]byte{"broken-1.0-r0.apk": broken}, 422},
		{"another arch", tok, nil, map[string][]byte{"armonly-1.0-r0.apk": read(arm)}, 422},
		{"untrusted", tok, nil, map[string][]byte{"unsigned-1.0-r0.apk": read(untrusted)}, 422},
		{"oversized", tok, nil, map[string][]byte{"big-1.0-r0.apk": read(big)}, 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot(t)
			code, body := postForm(t, e.url, tc.token, tc.fields, tc.files)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			if strings.Contains(body, "group/*") || strings.Contains(body, "release-*") {
				t.Errorf("reply reveals an allowed claim value: %s", body)
			}
			if diff := cmp.Diff(before, e.snapshot(t)); diff != "" {
				t.Errorf("served tree changed (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("form cut off mid-file", func(t *testing.T) {
		before := e.snapshot(t)
		code := postTruncated(t, e.url, tok, "good-1.0-r0.apk", read(good))
		if code != 400 {
			t.Fatalf("status %d, want 400", code)
		}
		if diff := cmp.Diff(before, e.snapshot(t)); diff != "" {
			t.Errorf("served tree changed (-before +after):\n%s", diff)
		}
	})
	if diff := cmp.Diff([]string{"seed-1.0-r0.apk"}, e.index(t, "edge/main/x86_64")); diff != "" {
		t.Errorf("index after the attacks (-want +got):\n%s", diff)
	}
}

// formBody makes a multipart upload form (writing to memory cannot fail).
func formBody(fields map[string]string, files map[string][]byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// CreateFormFile would escape nothing but quotes; write the header
		// by hand so that the name goes out exactly as given.
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename="%s"`, n)}
		h["Content-Type"] = []string{"application/octet-stream"}
		w, _ := mw.CreatePart(h)
		w.Write(files[n])
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func postForm(t *testing.T, base, token string, fields map[string]string, files map[string][]byte) (int, string) {
	t.Helper()
	ctype, body := formBody(fields, files)
	req, _ := http.NewRequest(http.MethodPost, base+"/upload", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postTruncated sends a form whose body stops in the middle of the file,
// then half-closes the connection, as a client that dies mid-upload.
func postTruncated(t *testing.T, base, token, name string, content []byte) int {
	t.Helper()
	ctype, body := formBody(nil, map[string][]byte{name: content})
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", u.Host, token, ctype, len(body))
	c.Write(body[:len(body)/2])
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response to a truncated form: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestE2EConcurrentUploads runs 50 `apkit upload`s of distinct packages at
// once against a real apkit serve: all 50 end up in the index, which
// verifies.
func TestE2EConcurrentUploads(t *testing.T) {
	e := startE2E(t)
	tok, err := e.idp.Token("job")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": e.dir, "APKIT_CONFIG": filepath.Join(e.dir, "none.yaml"), "APKIT_TOKEN": tok}
	var want, paths []string
	for i := range 50 {
		name := fmt.Sprintf("many%02d", i)
		paths = append(paths, buildTestPackage(t, filepath.Join(e.dir, "pkgs", name), e.buildKey, name, "1.0-r0", "x86_64", 10))
		want = append(want, name+"-1.0-r0.apk")
	}
	errs := make(chan string, len(paths))
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			if code, _, stderr := runApkit(t, env, "upload", "--url", e.url, "--version", "edge", "--repo", "main", p); code != 0 {
				errs <- fmt.Sprintf("%s: exit %d: %s", filepath.Base(p), code, stderr)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if diff := cmp.Diff(want, e.index(t, "edge/main/x86_64")); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
}

// TestE2ERealApk checks the served repository with Alpine's own apk
// (apk-tools 2.x), when APKIT_TEST_APK names its binary: apk trusts the
// index signed by the server's key, lists and fetches the uploaded package,
// and calls the index UNTRUSTED without that key.
func TestE2ERealApk(t *testing.T) {
	apkBin := os.Getenv("APKIT_TEST_APK")
	if apkBin == "" {
		t.Skip("set APKIT_TEST_APK to an apk-tools 2.x binary to check the served repository with it")
	}
	e := startE2E(t)
	pkg := buildTestPackage(t, filepath.Join(e.dir, "pkgs"), e.buildKey, "hello", "1.0-r0", "x86_64", 100)
	tok, _ := e.idp.Token("job")
	content, _ := os.ReadFile(pkg)
	if code, body := postForm(t, e.url, tok, nil, map[string][]byte{"hello-1.0-r0.apk": content}); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	root, fetched, empty := t.TempDir(), t.TempDir(), t.TempDir()
	keys := filepath.Join(e.dir, "apk-keys")
	writeKeyFiles(t, e.srvKey, t.TempDir(), keys)
	writeKeyFiles(t, e.buildKey, t.TempDir(), keys)
	apk := func(keysDir string, args ...string) string {
		all := append([]string{"--root", root, "--arch", "x86_64", "--keys-dir", keysDir, "--repositories-file", "/dev/null", "--no-cache"}, args...)
		out, err := exec.Command(apkBin, all...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "UNTRUSTED") {
			t.Fatalf("apk %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	apk(keys, "add", "--initdb")
	repoURL := e.url + "/edge/main"
	if out := apk(keys, "-X", repoURL, "update"); !strings.Contains(out, "OK: 1 distinct packages available") {
		t.Errorf("apk update:\n%s", out)
	}
	apk(keys, "-X", repoURL, "fetch", "-o", fetched, "hello")
	got, err := os.ReadFile(filepath.Join(fetched, "hello-1.0-r0.apk"))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("apk fetch did not get the uploaded package: %v", err)
	}
	if out := apk(empty, "-X", repoURL, "update"); !strings.Contains(out, "UNTRUSTED") {
		t.Errorf("apk without the server's key does not call the index UNTRUSTED:\n%s", out)
	}
}

// TestE2EUploadBuiltPackage builds a real recipe with apkit build, uploads
// the result with apkit upload to a real apkit serve, and checks that the
// served index, signed by the server, lists it.
func TestE2EUploadBuiltPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	e := startE2E(t)
	recipe := filepath.Join("..", "..", "examples", "main", "hello-sh")
	if _, err := os.Stat(filepath.Join(recipe, "APKBUILD")); err != nil {
		t.Fatalf("example recipe: %v", err)
	}
	aports := filepath.Join(e.dir, "aports", "main", "hello-sh")
	os.MkdirAll(aports, 0o755)
	ents, _ := os.ReadDir(recipe)
	for _, ent := range ents {
		b, err := os.ReadFile(filepath.Join(recipe, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(aports, ent.Name()), b, 0o644)
	}
	// The builder signs with the key the server trusts for uploads.
	buildKey := filepath.Join(e.dir, "builder", e.buildKey.PrivateFileName())
	repodest := filepath.Join(e.dir, "packages")
	env := map[string]string{"HOME": e.dir, "APKIT_CONFIG": filepath.Join(e.dir, "none.yaml"), "PATH": os.Getenv("PATH")}
	if code, _, stderr := runApkit(t, env, "build", "-q", "--offline", "--key", buildKey, "--repodest", repodest, aports); code != 0 {
		t.Fatalf("apkit build: exit %d\n%s", code, stderr)
	}
	tok, _ := e.idp.Token("job")
	env["APKIT_TOKEN"] = tok
	code, stdout, stderr := runApkit(t, env, "upload", "--url", e.url, "--version", "v3.22", repodest)
	if code != 0 {
		t.Fatalf("apkit upload: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "v3.22/main/") || !strings.Contains(stdout, "/hello-sh-0.3.1-r2.apk") {
		t.Errorf("upload output:\n%s", stdout)
	}
	arch := filepath.Base(filepath.Dir(strings.TrimSpace(stdout)))
	if diff := cmp.Diff([]string{"hello-sh-0.3.1-r2.apk"}, e.index(t, "v3.22/main/"+arch)); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
}
