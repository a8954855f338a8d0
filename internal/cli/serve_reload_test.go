package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/auth/authtest"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// lockedBuffer collects a subprocess's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProc is `apkit serve` running as its own process, so that it gets
// real signals.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	addr   string
}

func startServeProc(t *testing.T, home string, args ...string) *serveProc {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("signal test runs on Linux")
	}
	bin, err := exec.LookPath("apkit")
	if err != nil {
		t.Fatalf("the apkit test binary is not in PATH: %v", err)
	}
	p := &serveProc{stderr: &lockedBuffer{}, addr: freeAddr(t)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--listen", p.addr}, args...)...)
	p.cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// hup sends SIGHUP and waits until the log shows the reload's outcome
// (want is "configuration reloaded" or "reload refused").
func (p *serveProc) hup(t *testing.T, want string) {
	t.Helper()
	before := strings.Count(p.stderr.String(), want)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(p.stderr.String(), want) > before {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q after SIGHUP:\n%s", want, p.stderr)
}

// stop sends SIGTERM and returns the log; the server must exit cleanly.
func (p *serveProc) stop(t *testing.T) string {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, p.stderr)
	}
	return p.stderr.String()
}

// SIGHUP reloads upload_keys and the jwt settings of a running server; a
// configuration that does not load is refused, logged, and the server goes
// on with the previous one.
func TestServeReloadOnSIGHUP(t *testing.T) {
	idp1, err := authtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp1.Close)
	idp2, err := authtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp2.Close)
	dir := t.TempDir()
	now := time.Unix(1700000000, 0)
	srvKey, err := sign.GenerateKey(rand.Reader, "repo@example.test", 2048, now)
	if err != nil {
		t.Fatal(err)
	}
	keyA, err := sign.GenerateKey(rand.Reader, "a@example.test", 2048, now)
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := sign.GenerateKey(rand.Reader, "b@example.test", 2048, now)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := writeKeyFiles(t, srvKey, filepath.Join(dir, "keys"), filepath.Join(dir, "pub"))
	writeKeyFiles(t, keyA, filepath.Join(dir, "a"), filepath.Join(dir, "upload-keys"))
	writeKeyFiles(t, keyB, filepath.Join(dir, "b"), filepath.Join(dir, "b-pub"))
	pkgs := filepath.Join(dir, "pkgs")
	read := func(p string) []byte { b, _ := os.ReadFile(p); return b }
	byB := read(buildTestPackage(t, pkgs, keyB, "byb", "1.0-r0", "x86_64", 10))
	byB2 := read(buildTestPackage(t, pkgs, keyB, "byb2", "1.0-r0", "x86_64", 10))
	byB3 := read(buildTestPackage(t, pkgs, keyB, "byb3", "1.0-r0", "x86_64", 10))

	cfgPath := filepath.Join(dir, "serve.yaml")
	writeCfg := func(uploadKeys string, idp *authtest.Provider) {
		cfg := fmt.Sprintf("dir: %s\nsigning_key: %s\nupload_keys: %s\njwt:\n  jwks: %s\n  issuer: %s\n  audience: %s\n  claims:\n    project_path: group/*\n",
			filepath.Join(dir, "repo"), keyPath, uploadKeys, idp.JWKSURL, idp.Issuer, authtest.Audience)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	token := func(idp *authtest.Provider) string {
		c := idp.Claims("job")
		c["project_path"] = "group/app"
		tok, err := idp.RS256(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok1, tok2 := token(idp1), token(idp2)

	writeCfg(filepath.Join(dir, "upload-keys"), idp1)
	p := startServeProc(t, dir, "--config", cfgPath)
	upload := func(tok, name string, content []byte, want int) {
		t.Helper()
		if code, body := postForm(t, "http://"+p.addr, tok, nil, map[string][]byte{name: content}); code != want {
			t.Fatalf("upload %s: %d %s, want %d", name, code, body, want)
		}
	}
	waitHealthy(t, "http://"+p.addr, p.stderr)

	// Key B is not trusted yet.
	upload(tok1, "byb-1.0-r0.apk", byB, 422)

	// Trust key B, reload: B's packages are accepted.
	os.WriteFile(filepath.Join(dir, "upload-keys", keyB.Name), read(filepath.Join(dir, "b-pub", keyB.Name)), 0o644)
	p.hup(t, "configuration reloaded")
	upload(tok1, "byb-1.0-r0.apk", byB, 200)

	// A broken configuration is refused; the server keeps the one it has.
	writeCfg(filepath.Join(dir, "no-such-keys"), idp1)
	p.hup(t, "reload refused")
	upload(tok1, "byb2-1.0-r0.apk", byB2, 200)
	os.WriteFile(cfgPath, []byte("dir: [unclosed\n"), 0o644)
	p.hup(t, "reload refused")
	upload(tok1, "byb2-1.0-r0.apk", byB2, 200) // the same file again is fine

	// Another identity provider: its tokens are accepted, the old one's not.
	writeCfg(filepath.Join(dir, "upload-keys"), idp2)
	p.hup(t, "configuration reloaded")
	upload(tok1, "byb3-1.0-r0.apk", byB3, 401)
	upload(tok2, "byb3-1.0-r0.apk", byB3, 200)

	log := p.stop(t)
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a line not from the server's logger: %q", line)
		}
	}
	for _, want := range []string{
		`level=INFO msg="reloading the configuration (SIGHUP)"`,
		`level=INFO msg="configuration reloaded" upload_keys=2 jwt_reloaded=false`,
		`level=ERROR msg="reload refused; still serving with the previous configuration" error="upload_keys: stat ` + filepath.Join(dir, "no-such-keys"),
		`level=INFO msg="configuration reloaded" upload_keys=2 jwt_reloaded=true`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// SIGHUP loads the certificate files again at once, even under the same
// modification time.
func TestServeReloadCertificateOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	crt, key := selfSigned(t, dir)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("dir: "+filepath.Join(dir, "repo")+"\ndev: true\ntls:\n  crt: "+crt+"\n  key: "+key+"\n"), 0o644)
	p := startServeProc(t, dir, "--config", cfg)
	served := func() []byte {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := tls.Dial("tcp", p.addr, &tls.Config{InsecureSkipVerify: true})
			if err == nil {
				defer c.Close()
				return c.ConnectionState().PeerCertificates[0].Raw
			}
			if time.Now().After(deadline) {
				t.Fatalf("tls dial: %v\n%s", err, p.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first := served()
	st, _ := os.Stat(crt)
	crt2, key2 := selfSigned(t, t.TempDir())
	for _, f := range [][2]string{{crt2, crt}, {key2, key}} {
		os.WriteFile(f[1], readFile(t, f[0]), 0o600)
		os.Chtimes(f[1], st.ModTime(), st.ModTime())
	}
	p.hup(t, "configuration reloaded")
	if second := served(); bytes.Equal(first, second) {
		t.Fatalf("certificate not reloaded on SIGHUP:\n%s", p.stderr)
	}
	// A key that does not match: refused, and the certificate stays.
	os.WriteFile(key, []byte("not a key"), 0o600)
	p.hup(t, "reload refused")
	if third := served(); bytes.Equal(first, third) {
		t.Fatal("a refused reload changed the certificate")
	}
	p.stop(t)
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A reposerve file (dir, jwt.jwks, jwt.claims with iss) plus the one line
// jwt.audience starts once apkit has a signing key: the issuer comes from
// the claims, and both iss and aud are checked.
func TestServeReposerveConfig(t *testing.T) {
	idp, err := authtest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	dir := t.TempDir()
	srvKey, err := sign.GenerateKey(rand.Reader, "repo@example.test", 2048, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := writeKeyFiles(t, srvKey, filepath.Join(dir, "keys"), filepath.Join(dir, "pub"))
	cfg := filepath.Join(dir, "reposerve.yaml")
	reposerve := fmt.Sprintf("dir: %s\njwt:\n  jwks: %s\n  claims:\n    iss: %s\n    project_path: group/*\n",
		filepath.Join(dir, "repo"), idp.JWKSURL, idp.Issuer)
	os.WriteFile(cfg, []byte(reposerve), 0o644)
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": cfg, "APKIT_SIGNING_KEY": keyPath}

	// Unchanged, it does not start, and the error says the line to add.
	code, _, stderr := runApkit(t, env, "serve", "--listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "a reposerve file needs this one line more: jwt.audience:") {
		t.Fatalf("reposerve file as is: exit %d: %s", code, stderr)
	}

	os.WriteFile(cfg, []byte(reposerve+"  audience: "+authtest.Audience+"\n"), 0o644)
	url, stop := startServe(t, env)
	content := readFile(t, buildTestPackage(t, filepath.Join(dir, "pkgs"), nil, "hello", "1.0-r0", "x86_64", 10))
	claims := idp.Claims("job")
	claims["project_path"] = "group/app"
	tok, _ := idp.RS256(claims)
	if code, body := postForm(t, url, tok, nil, map[string][]byte{"hello-1.0-r0.apk": content}); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	for name, mod := range map[string]func(map[string]any){
		"another issuer":   func(c map[string]any) { c["iss"] = "https://gitlab.evil.test" },
		"another audience": func(c map[string]any) { c["aud"] = "https://other-service.example.test" },
	} {
		c := idp.Claims("job")
		c["project_path"] = "group/app"
		mod(c)
		tok, _ := idp.RS256(c)
		if code, body := postForm(t, url, tok, nil, map[string][]byte{"hello-1.0-r0.apk": content}); code != 401 {
			t.Errorf("%s: %d %s, want 401", name, code, body)
		}
	}
	if log, err := stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, log)
	}
}

// Every line the server prints comes from its logger, and the dev mode
// warning is printed once.
func TestServeLogsOnlyThroughLogger(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": filepath.Join(dir, "none.yaml")}
	_, stop := startServe(t, env, "--dev", "--dir", filepath.Join(dir, "repo"))
	log, err := stop()
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, log)
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a line not from the server's logger: %q", line)
		}
	}
	if n := strings.Count(strings.ToLower(log), "dev mode"); n != 1 {
		t.Errorf("dev mode mentioned %d times, want once:\n%s", n, log)
	}
}
