package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// TestServeSIGKILLMidUpdate runs apkit serve as a separate process, keeps
// it busy with uploads (so that an index update is almost always under
// way), kills it with SIGKILL, and checks after each kill that the index
// is complete and verifies, that it lists every package whose upload was
// acknowledged, and that a restarted server takes uploads again.
func TestServeSIGKILLMidUpdate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SIGKILL test runs on Linux")
	}
	if testing.Short() {
		t.Skip("slow: -short")
	}
	bin, err := exec.LookPath("apkit")
	if err != nil {
		t.Fatalf("the apkit test binary is not in PATH: %v", err)
	}
	dir := t.TempDir()
	srvKey, err := sign.GenerateKey(rand.Reader, "repo@example.test", 2048, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := writeKeyFiles(t, srvKey, filepath.Join(dir, "keys"), filepath.Join(dir, "pub"))
	kr := &sign.Keyring{}
	kr.Add(srvKey.Name, &srvKey.Key.PublicKey)
	archDir := filepath.Join(dir, "repo", "edge", "main", "x86_64")

	// A repository large enough that each index update takes a while.
	seedDir := filepath.Join(dir, "seed")
	var seed []string
	for i := range 300 {
		seed = append(seed, buildTestPackage(t, seedDir, nil, fmt.Sprintf("seed%03d", i), "1.0-r0", "x86_64", 10))
	}
	r, err := repo.Open(archDir, repo.Options{Key: srvKey, AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(context.Background(), seed...); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(seedDir)

	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("dir: "+filepath.Join(dir, "repo")+"\nsigning_key: "+keyPath+"\n"), 0o644)
	next := make(chan string, 400)
	for i := range cap(next) {
		next <- buildTestPackage(t, filepath.Join(dir, "up"), nil, fmt.Sprintf("up%03d", i), "1.0-r0", "x86_64", 10)
	}
	close(next)

	var (
		mu    sync.Mutex
		acked []string
	)
	prev := 300
	midUpdate := 0
	const rounds = 6
	for round := range rounds {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "serve", "--dev", "--config", cfg, "--listen", addr)
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, "http://"+addr, &stderr)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					p, ok := <-next
					if !ok {
						return
					}
					content, _ := os.ReadFile(p)
					code, _ := postFormQuiet("http://"+addr, map[string][]byte{filepath.Base(p): content})
					if code == 200 {
						mu.Lock()
						acked = append(acked, filepath.Base(p))
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Duration(150+round*60) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		close(stop)
		wg.Wait()

		// Temporary files left behind show that the kill hit an update;
		// the next server removes them at start.
		if tmps, _ := filepath.Glob(filepath.Join(archDir, ".apkit-tmp-*")); len(tmps) > 0 {
			midUpdate++
		}
		f, err := os.Open(filepath.Join(archDir, "APKINDEX.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		ix, err := index.ReadVerified(f, kr)
		f.Close()
		if err != nil {
			t.Fatalf("round %d: index after SIGKILL does not verify: %v", round, err)
		}
		listed := map[string]bool{}
		for _, rec := range ix.Records {
			listed[rec.FileName()] = true
			if _, err := os.Stat(filepath.Join(archDir, rec.FileName())); err != nil {
				t.Errorf("round %d: index lists %s, which is missing", round, rec.FileName())
			}
		}
		if len(ix.Records) < prev {
			t.Errorf("round %d: index has %d packages, fewer than the %d before", round, len(ix.Records), prev)
		}
		prev = len(ix.Records)
		mu.Lock()
		for _, a := range acked {
			if !listed[a] {
				t.Errorf("round %d: %s was acknowledged but is not in the index", round, a)
			}
		}
		mu.Unlock()
	}
	t.Logf("%d of %d kills left an update's temporary files behind; index holds %d packages", midUpdate, rounds, prev)

	// A restarted server cleans up nothing it needs to and takes uploads.
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--dev", "--config", cfg, "--listen", addr)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	waitHealthy(t, "http://"+addr, &stderr)
	// It removed what the kills left and reconciled the index with the
	// files: every package on disk is listed, and only its own staging
	// directory is left.
	if tmps, _ := filepath.Glob(filepath.Join(archDir, ".apkit-tmp-*")); len(tmps) > 0 {
		t.Errorf("temporary files left after a restart: %v", tmps)
	}
	if staged, _ := filepath.Glob(filepath.Join(dir, "repo", ".upload", "srv-*")); len(staged) != 2 {
		t.Errorf("staging after a restart holds %v, want the running server's directory and lock", staged)
	}
	f, err := os.Open(filepath.Join(archDir, "APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.ReadVerified(f, kr)
	f.Close()
	if err != nil {
		t.Fatalf("index after restart: %v", err)
	}
	listed := map[string]bool{}
	for _, rec := range ix.Records {
		listed[rec.FileName()] = true
	}
	onDisk, _ := filepath.Glob(filepath.Join(archDir, "*.apk"))
	for _, p := range onDisk {
		if !listed[filepath.Base(p)] {
			t.Errorf("%s is on disk but not in the index after a restart", filepath.Base(p))
		}
	}
	last := buildTestPackage(t, filepath.Join(dir, "last"), nil, "last", "1.0-r0", "x86_64", 10)
	content, _ := os.ReadFile(last)
	if code, body := postFormQuiet("http://"+addr, map[string][]byte{"last-1.0-r0.apk": content}); code != 200 {
		t.Fatalf("upload after restart: %d %s", code, body)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func waitHealthy(t *testing.T, base string, stderr fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server at %s did not come up:\n%s", base, stderr)
}

// postFormQuiet posts files without a token (dev mode) and returns the
// status, or 0 when the connection failed (the server was killed).
func postFormQuiet(base string, files map[string][]byte) (int, string) {
	ctype, body := formBody(nil, files)
	req, _ := http.NewRequest(http.MethodPost, base+"/upload", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
