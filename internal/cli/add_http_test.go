package cli

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// TestAddHTTPRepository installs from a repository served on 127.0.0.1,
// then again offline from the download cache, and fails offline without it.
func TestAddHTTPRepository(t *testing.T) {
	dir := t.TempDir()
	key, err := sign.GenerateKey(rand.Reader, "test@example.org", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	writeKeyFiles(t, key, filepath.Join(dir, "priv"), keys)
	arch := apkbuild.HostArch()
	repo := filepath.Join(dir, "srv", "main", arch)
	stage := filepath.Join(dir, "stage", "etc")
	os.MkdirAll(stage, 0o755)
	os.MkdirAll(repo, 0o755)
	os.WriteFile(filepath.Join(stage, "motd"), []byte("served\n"), 0o644)
	var buf bytes.Buffer
	p, err := apk.Write(&buf, &apk.Input{
		Info: apk.PkgInfo{Name: "motd", Version: "1.0-r0", Arch: arch, License: "MIT", BuildDate: 1700000000},
		Dir:  filepath.Dir(stage),
		Key:  key,
	})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, "motd-1.0-r0.apk"), buf.Bytes(), 0o644)
	var ix bytes.Buffer
	if err := index.WriteSigned(&ix, &index.Index{Records: []*index.Record{index.FromPackage(p, int64(buf.Len()))}}, key, ""); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, "APKINDEX.tar.gz"), ix.Bytes(), 0o644)
	var (
		mu       sync.Mutex
		requests []string
	)
	files := http.FileServer(http.Dir(filepath.Join(dir, "srv")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path)
		mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()

	env := map[string]string{"HOME": dir, "APKIT_CONFIG": filepath.Join(dir, "apkit.yaml")}
	add := func(root string, extra ...string) (int, string, string) {
		args := append([]string{"add", "--root", root, "--initdb", "--keys-dir", keys, "-X", srv.URL + "/main"}, extra...)
		return runApkit(t, env, append(args, "motd")...)
	}
	code, out, errOut := add(filepath.Join(dir, "r1"))
	if code != 0 || !strings.Contains(out, "(1/1) Installing motd (1.0-r0)") {
		t.Fatalf("add over http: exit %d\n%s%s", code, out, errOut)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "r1", "etc", "motd")); err != nil || string(data) != "served\n" {
		t.Errorf("etc/motd: %q, %v", data, err)
	}
	mu.Lock()
	if len(requests) != 2 {
		t.Errorf("requests: %q, want the index and the package", requests)
	}

	requests = nil
	mu.Unlock()
	if code, out, errOut := add(filepath.Join(dir, "r2"), "--no-network"); code != 0 {
		t.Fatalf("add --no-network from the cache: exit %d\n%s%s", code, out, errOut)
	}
	mu.Lock()
	if len(requests) != 0 {
		t.Errorf("--no-network made requests: %q", requests)
	}
	mu.Unlock()
	code, _, errOut = add(filepath.Join(dir, "r3"), "--no-network", "--no-cache")
	if code == 0 || !strings.Contains(errOut, "repository "+srv.URL+"/main") {
		t.Errorf("--no-network --no-cache: exit %d, want a failure naming the repository\n%s", code, errOut)
	}
}
