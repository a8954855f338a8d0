package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

var (
	signKeyOnce sync.Once
	signKey     *sign.PrivateKey
	signKeyErr  error
)

func testSignKey(t testing.TB) *sign.PrivateKey {
	t.Helper()
	signKeyOnce.Do(func() {
		signKey, signKeyErr = sign.GenerateKey(nil, "crash@example.com", 2048, time.Unix(0x6748a2b1, 0))
	})
	if signKeyErr != nil {
		t.Fatal(signKeyErr)
	}
	return signKey
}

// checkConsistent checks what a reader of the repository sees: an index
// signed by k that lists only files that exist.
func checkConsistent(t *testing.T, dir string, k *sign.PrivateKey) *index.Index {
	t.Helper()
	kr := &sign.Keyring{}
	kr.Add(k.Name, &k.Key.PublicKey)
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.ReadVerified(bytes.NewReader(b), kr)
	if err != nil {
		t.Fatalf("index as a reader sees it: %v", err)
	}
	for _, r := range ix.Records {
		if _, err := os.Stat(filepath.Join(dir, r.FileName())); err != nil {
			t.Errorf("index lists a missing file: %v", err)
		}
	}
	return ix
}

// TestReadersSeeCompleteIndex reads the index over and over while
// goroutines add and remove packages: every read finds a complete index
// with a good signature.
func TestReadersSeeCompleteIndex(t *testing.T) {
	t.Parallel()
	k := testSignKey(t)
	dir := filepath.Join(t.TempDir(), "x86_64")
	r := openFake(t, dir, Options{Key: k})
	ctx := context.Background()
	if _, err := r.Add(ctx, writeFake(t, t.TempDir(), "seed", "1-r0")); err != nil {
		t.Fatal(err)
	}
	kr := &sign.Keyring{}
	kr.Add(k.Name, &k.Key.PublicKey)

	var (
		stop  atomic.Bool
		reads atomic.Int64
		wg    sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				f, err := os.Open(r.IndexPath())
				if err != nil {
					t.Error(err)
					return
				}
				_, err = index.ReadVerified(f, kr)
				f.Close()
				if err != nil {
					t.Errorf("reader saw a broken index: %v", err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	var writers sync.WaitGroup
	for g := range 3 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			src := t.TempDir()
			for i := range 10 {
				name := fmt.Sprintf("w%d-%d", g, i)
				if _, err := r.Add(ctx, writeFake(t, src, name, "1-r0")); err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					if _, err := r.Remove(ctx, name); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	writers.Wait()
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Error("no read happened")
	}
	ix := checkConsistent(t, dir, k)
	if len(ix.Records) != 1+3*6 {
		t.Errorf("%d records, want %d", len(ix.Records), 1+3*6)
	}
}

const crashEnv = "APKIT_REPO_TEST_CRASH"

// crashHelper adds packages to a repository forever, until killed.
func crashHelper(spec string) int {
	parts := strings.SplitN(spec, "|", 3)
	dir, src, keyFile := parts[0], parts[1], parts[2]
	k, err := sign.LoadPrivateKey(keyFile, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r, err := Open(dir, Options{Key: k})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r.read = fakeRead
	for i := 0; ; i++ {
		p := writeFake(nil, src, fmt.Sprintf("crash-%d-%d", os.Getpid(), i), "1-r0")
		if _, err := r.Add(context.Background(), p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

// TestCrashLeavesPreviousIndex kills processes in the middle of adding
// packages, at random points: the index left behind is always complete,
// signed and lists only files that exist, and the next Add and Reindex
// work.
func TestCrashLeavesPreviousIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	t.Parallel()
	k := testSignKey(t)
	dir := filepath.Join(t.TempDir(), "x86_64")
	r := openFake(t, dir, Options{Key: k})
	if _, err := r.Add(context.Background(), writeFake(t, t.TempDir(), "seed", "1-r0")); err != nil {
		t.Fatal(err)
	}
	pem, err := sign.MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), k.PrivateFileName())
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Env = append(os.Environ(), crashEnv+"="+dir+"|"+t.TempDir()+"|"+keyFile)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+37*round) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("helper did not die by SIGKILL: %v\n%s", err, stderr.Bytes())
		}
		checkConsistent(t, dir, k)
	}
	// The lock died with the process: changes go on.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.Add(ctx, writeFake(t, t.TempDir(), "after", "1-r0")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	ix := checkConsistent(t, dir, k)
	files, _ := r.packageFiles()
	if len(files) != len(ix.Records) {
		t.Errorf("after Reindex: %d files, %d records", len(files), len(ix.Records))
	}
	t.Logf("%d packages added by killed processes", len(ix.Records)-2)
}
