package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/term"
)

// startServe runs `apkit serve args...` in-process on a loopback listener
// and returns its base URL and a function that stops it and returns its
// error and stderr.
func startServe(t *testing.T, env map[string]string, args ...string) (string, func() (string, error)) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := term.Test()
	app := NewApp(ts.Streams)
	app.Getenv = func(k string) string { return env[k] }
	root := newRootCmd(app)
	serveCmd, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	// Hand the listener to the serve command through its options.
	ready := make(chan struct{})
	serveCmd.RunE = func(cmd *cobra.Command, a []string) error {
		opts := &serveOptions{flags: cmd.Flags(), listeners: []net.Listener{l}, grace: 10 * time.Second, ready: func([]string) { close(ready) }}
		return runServe(cmd.Context(), app, opts)
	}
	root.SetArgs(append([]string{"serve", "--listen", l.Addr().String()}, args...))
	root.SetOut(ts.Out)
	root.SetErr(ts.ErrOut)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited: %v\n%s", err, ts.ErrBuf.String())
	case <-time.After(time.Minute):
		t.Fatal("serve did not start")
	}
	stop := func() (string, error) {
		cancel()
		err := <-done
		return ts.ErrBuf.String(), err
	}
	t.Cleanup(func() { cancel() })
	return "http://" + l.Addr().String(), stop
}

func TestServeDevModeStartsAndStops(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": filepath.Join(dir, "none.yaml")}
	url, stop := startServe(t, env, "--dev", "--dir", filepath.Join(dir, "repo"))
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "ok") {
		t.Fatalf("healthz: %d %s", resp.StatusCode, b)
	}
	stderr, err := stop()
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	if want := "DEV MODE: uploads are NOT authenticated; anyone who can reach " + strings.TrimPrefix(url, "http://") + " can add packages"; !strings.Contains(stderr, want) {
		t.Errorf("no loud dev-mode warning %q:\n%s", want, stderr)
	}
}

func TestServeTLSWithHSTS(t *testing.T) {
	dir := t.TempDir()
	crt, key := selfSigned(t, dir)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("dir: "+filepath.Join(dir, "repo")+"\ndev: true\ntls:\n  crt: "+crt+"\n  key: "+key+"\n  hsts:\n    duration: 1y\n    include_subdomains: true\n"), 0o644)
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": cfg}
	url, stop := startServe(t, env)
	url = strings.Replace(url, "http://", "https://", 1)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS = %q", got)
	}
	if stderr, err := stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr)
	}
}

func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(k)
	crt, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	return crt, key
}

// With log_format json every line on stderr is a JSON object, startup
// warnings included, so that a log collector parses all of them.
func TestServeJSONLogsOnly(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("dir: "+filepath.Join(dir, "repo")+"\ndev: true\nlog_format: json\n"), 0o644)
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": cfg}
	url, stop := startServe(t, env)
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	stderr, err := stop()
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr)
	}
	warnings := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		if m["level"] == "WARN" {
			warnings++
		}
	}
	// The last line says the server stopped cleanly, for whoever reads
	// the log after a restart.
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, `"msg":"stopped"`) {
		t.Errorf("last line = %s, want the stopped record", last)
	}
	if !strings.Contains(stderr, "DEV MODE: uploads are NOT authenticated") || !strings.Contains(stderr, "upload_keys is not set") {
		t.Errorf("startup warnings missing:\n%s", stderr)
	}
	if warnings < 3 {
		t.Errorf("%d WARN lines, want the dev mode, upload_keys and signing_key warnings:\n%s", warnings, stderr)
	}
}

// tls.redirect and tls.hsts without a certificate do nothing; the
// operator is told instead of finding out from a browser.
func TestServeTLSSettingsWithoutTLS(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("dir: "+filepath.Join(dir, "repo")+"\ndev: true\ntls:\n  redirect:\n    port: 1\n  hsts:\n    duration: 1y\n"), 0o644)
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": cfg}
	_, stop := startServe(t, env)
	stderr, err := stop()
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr)
	}
	if want := "level=WARN msg=\"tls.redirect, tls.hsts: no effect without tls.crt and tls.key or tls.acme: the server speaks plain http"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}
