package source

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sha512hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

// payload is deterministic test content of n bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// fastOpts are Options for tests: tiny backoff, short timeout.
func fastOpts(cache string) Options {
	return Options{Cache: cache, Backoff: time.Millisecond, Timeout: 2 * time.Second}
}

func TestFetch(t *testing.T) {
	t.Parallel()
	content := payload(300 << 10)
	sum := Checksum{Algo: SHA512, Digest: sha512hex(content)}

	tests := []struct {
		name    string
		handler func(hits int, w http.ResponseWriter, r *http.Request)
		path    string
		sum     Checksum
		opts    func(*Options)
		wantErr string // substring; "" means success
		is      error
		hits    int
	}{
		{
			name: "success",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
			},
			sum:  sum,
			hits: 1,
		},
		{
			name: "redirect",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/src/f.tar.gz" {
					http.Redirect(w, r, "/moved/f.tar.gz", http.StatusFound)
					return
				}
				http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
			},
			sum:  sum,
			hits: 2,
		},
		{
			name: "not found",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				http.NotFound(w, r)
			},
			sum:     sum,
			wantErr: "404 Not Found",
			hits:    1,
		},
		{
			name: "fails twice then succeeds",
			handler: func(hits int, w http.ResponseWriter, r *http.Request) {
				if hits <= 2 {
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return
				}
				http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
			},
			sum:  sum,
			hits: 3,
		},
		{
			name: "always 500 gives up",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				http.Error(w, "broken", http.StatusInternalServerError)
			},
			sum:     sum,
			opts:    func(o *Options) { o.Attempts = 3 },
			wantErr: "after 3 attempts: GET",
			hits:    3,
		},
		{
			name: "slow server hits the timeout",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(content)))
				w.Write(content[:1000])
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			sum:     sum,
			opts:    func(o *Options) { o.Timeout = 100 * time.Millisecond; o.Attempts = 2 },
			wantErr: "download stalled",
			is:      ErrStalled,
			hits:    2,
		},
		{
			name: "server that never answers",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			sum:     sum,
			opts:    func(o *Options) { o.Timeout = 100 * time.Millisecond; o.Attempts = 2 },
			wantErr: "after 2 attempts: download stalled",
			is:      ErrStalled,
			hits:    2,
		},
		{
			name: "wrong checksum",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
			},
			sum:     Checksum{Algo: SHA512, Digest: strings.Repeat("ab", 64)},
			wantErr: "f.tar.gz: sha512 mismatch: expected " + strings.Repeat("ab", 64) + ", got " + sum.Digest,
			is:      ErrChecksumMismatch,
			hits:    1,
		},
		{
			name: "wrong sha256 checksum",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
			},
			sum:     Checksum{Algo: SHA256, Digest: strings.Repeat("0", 64)},
			wantErr: "sha256 mismatch",
			is:      ErrChecksumMismatch,
			hits:    1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.handler(int(hits.Add(1)), w, r)
			}))
			defer srv.Close()
			cache := t.TempDir()
			opts := fastOpts(cache)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			item := Item{Name: "f.tar.gz", URL: srv.URL + "/src/f.tar.gz", Sum: tt.sum}
			res, err := Fetch(context.Background(), []Item{item}, opts)
			if got := int(hits.Load()); got != tt.hits {
				t.Errorf("server hits = %d, want %d", got, tt.hits)
			}
			final := filepath.Join(cache, "f.tar.gz")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("errors.Is(err, %v) = false", tt.is)
				}
				if _, err := os.Stat(final); err == nil {
					t.Errorf("%s exists after a failed fetch", final)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Result{{Item: item, Path: final, Downloaded: true}}, res); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			got, err := os.ReadFile(final)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("cached file differs from the served one (err %v)", err)
			}
			if _, err := os.Stat(final + ".part"); err == nil {
				t.Errorf(".part file left behind")
			}
			// A second fetch uses the cache.
			res, err = Fetch(context.Background(), []Item{item}, opts)
			if err != nil || res[0].Downloaded {
				t.Errorf("second fetch: downloaded=%v err=%v, want the cached file", res[0].Downloaded, err)
			}
			if got := int(hits.Load()); got != tt.hits {
				t.Errorf("second fetch reached the server")
			}
		})
	}
}

func TestFetchWrongChecksumMovesAside(t *testing.T) {
	t.Parallel()
	content := []byte("upstream changed this file\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(content) }))
	defer srv.Close()
	cache := t.TempDir()
	want := strings.Repeat("ab", 64)
	item := Item{Name: "x.tar.gz", URL: srv.URL + "/x.tar.gz", Sum: Checksum{SHA512, want}}
	_, err := Fetch(context.Background(), []Item{item}, fastOpts(cache))
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *ChecksumError", err)
	}
	wantErr := &ChecksumError{Name: "x.tar.gz", Path: filepath.Join(cache, "x.tar.gz"), Algo: SHA512,
		Want: want, Got: sha512hex(content), MovedTo: filepath.Join(cache, "x.tar.gz.abababab"), Remote: true}
	if diff := cmp.Diff(wantErr, ce); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if got, _ := os.ReadFile(ce.MovedTo); !bytes.Equal(got, content) {
		t.Errorf("the bad file was not kept at %s", ce.MovedTo)
	}
}

func TestFetchBadCachedFileIsReplaced(t *testing.T) {
	t.Parallel()
	content := []byte("the real file\n")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.Write(content) }))
	defer srv.Close()
	cache := t.TempDir()
	final := filepath.Join(cache, "x.patch")
	if err := os.WriteFile(final, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha512hex(content)
	item := Item{Name: "x.patch", URL: srv.URL + "/x.patch", Sum: Checksum{SHA512, sum}}
	res, err := Fetch(context.Background(), []Item{item}, fastOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Downloaded || hits.Load() != 1 {
		t.Errorf("the stale file was not downloaded again")
	}
	if got, _ := os.ReadFile(final); !bytes.Equal(got, content) {
		t.Errorf("the cached copy is %q, want the verified download", got)
	}
	if _, err := os.Stat(final + "." + sum[:8]); err == nil {
		t.Errorf("the stale copy was moved aside: only unverified downloads are")
	}
}

// A cached file that was right for the recipe before its checksum changed
// stays in the cache when a fresh download is the same file: the recipe is
// what is wrong, and nothing piles up beside the cached copy.
func TestFetchWrongRecipeKeepsCachedFile(t *testing.T) {
	t.Parallel()
	content := []byte("the upstream file, unchanged\n")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.Write(content) }))
	defer srv.Close()
	cache := t.TempDir()
	final := filepath.Join(cache, "x.tar.gz")
	item := Item{Name: "x.tar.gz", URL: srv.URL + "/x.tar.gz", Sum: Checksum{SHA512, sha512hex(content)}}
	if _, err := Fetch(context.Background(), []Item{item}, fastOpts(cache)); err != nil {
		t.Fatal(err)
	}
	for i, wrong := range []string{strings.Repeat("ab", 64), strings.Repeat("cd", 64)} {
		item.Sum.Digest = wrong
		_, err := Fetch(context.Background(), []Item{item}, fastOpts(cache))
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a *ChecksumError", err)
		}
		want := &ChecksumError{Name: "x.tar.gz", Path: final, Algo: SHA512, Want: wrong, Got: sha512hex(content), Remote: true, SameAsCached: true}
		if diff := cmp.Diff(want, ce); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
		if got := int(hits.Load()); got != i+2 {
			t.Errorf("downloads = %d, want %d", got, i+2)
		}
	}
	entries, _ := os.ReadDir(cache)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"x.tar.gz"}, names); diff != "" {
		t.Errorf("cache (-want +got):\n%s", diff)
	}
	// Offline, the cached copy is reported and kept.
	opts := fastOpts(cache)
	opts.Offline = true
	_, err := Fetch(context.Background(), []Item{item}, opts)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.MovedTo != "" || !ce.Remote {
		t.Errorf("offline: err = %#v, want a *ChecksumError of a remote file, moved nowhere", err)
	}
	if got, _ := os.ReadFile(final); !bytes.Equal(got, content) {
		t.Errorf("the cached copy is %q, want it kept", got)
	}
}

func TestFetchResumesDroppedConnection(t *testing.T) {
	t.Parallel()
	content := payload(1 << 20)
	var (
		hits   atomic.Int32
		mu     sync.Mutex
		ranges []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		if hits.Add(1) == 1 {
			w.Header().Set("Content-Length", fmt.Sprint(len(content)))
			w.Header().Set("ETag", `"v1"`)
			w.Write(content[:400000])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
	}))
	defer srv.Close()
	cache := t.TempDir()
	item := Item{Name: "big.tar.xz", URL: srv.URL + "/big.tar.xz", Sum: Checksum{SHA512, sha512hex(content)}}
	rec := &recorder{}
	opts := fastOpts(cache)
	opts.Progress = rec
	if _, err := Fetch(context.Background(), []Item{item}, opts); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", "bytes=400000-"}, ranges); diff != "" {
		t.Errorf("Range headers (-want +got):\n%s", diff)
	}
	if got, _ := os.ReadFile(filepath.Join(cache, "big.tar.xz")); !bytes.Equal(got, content) {
		t.Errorf("resumed file differs")
	}
	if diff := cmp.Diff([]string{"start big.tar.xz", "size 1048576 0", "retry 1", "size 1048576 400000", "done <nil>"}, rec.events()); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

func TestFetchRestartsWhenRangeIgnored(t *testing.T) {
	t.Parallel()
	content := payload(200 << 10)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		if hits.Add(1) == 1 {
			w.Write(content[:5000])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		w.Write(content) // a server without Range support answers 200
	}))
	defer srv.Close()
	cache := t.TempDir()
	item := Item{Name: "f.zip", URL: srv.URL + "/f.zip", Sum: Checksum{SHA512, sha512hex(content)}}
	if _, err := Fetch(context.Background(), []Item{item}, fastOpts(cache)); err != nil {
		t.Fatal(err)
	}
}

func TestFetchOffline(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	cache := t.TempDir()
	have := []byte("cached\n")
	os.WriteFile(filepath.Join(cache, "b.tar.gz"), have, 0o644)
	items := []Item{
		{Name: "a.tar.gz", URL: srv.URL + "/a.tar.gz"},
		{Name: "b.tar.gz", URL: srv.URL + "/b.tar.gz", Sum: Checksum{SHA512, sha512hex(have)}},
		{Name: "c.patch", URL: srv.URL + "/c.patch"},
	}
	opts := fastOpts(cache)
	opts.Offline = true
	_, err := Fetch(context.Background(), items, opts)
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("err = %v, want ErrOffline", err)
	}
	want := "offline: 2 source(s) missing from the cache:\n  a.tar.gz (from " + srv.URL + "/a.tar.gz)\n  c.patch (from " + srv.URL + "/c.patch)"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if hits.Load() != 0 {
		t.Errorf("offline fetch reached the network")
	}
	res, err := Fetch(context.Background(), items[1:2], opts)
	if err != nil || res[0].Path != filepath.Join(cache, "b.tar.gz") {
		t.Errorf("offline fetch of a cached file: %v %v", res, err)
	}
}

func TestFetchLocalAndErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	patch := filepath.Join(dir, "fix.patch")
	os.WriteFile(patch, []byte("--- a\n+++ b\n"), 0o644)
	good := Checksum{SHA512, sha512hex([]byte("--- a\n+++ b\n"))}
	tests := []struct {
		name    string
		items   []Item
		wantErr string
	}{
		{"local ok", []Item{{Name: "fix.patch", Local: patch, Sum: good}}, ""},
		{"local missing", []Item{{Name: "gone.patch", Local: filepath.Join(dir, "gone.patch")}}, "fetch gone.patch: stat"},
		{"local bad sum", []Item{{Name: "fix.patch", Local: patch, Sum: Checksum{SHA512, strings.Repeat("0", 128)}}}, "fix.patch: sha512 mismatch"},
		{"duplicate", []Item{{Name: "fix.patch", Local: patch}, {Name: "fix.patch", Local: patch}}, "source fix.patch: duplicate saved name"},
		{"bad name", []Item{{Name: "a/b", Local: patch}}, `source "a/b": invalid saved name`},
		{"gopher", []Item{{Name: "a.tgz", URL: "gopher://example.org/a.tgz"}}, `unsupported URL scheme "gopher"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Fetch(context.Background(), tt.items, Options{Cache: t.TempDir()})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFetchParallelIsBounded(t *testing.T) {
	t.Parallel()
	var cur, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		w.Write([]byte(r.URL.Path))
	}))
	defer srv.Close()
	var items []Item
	for i := range 6 {
		items = append(items, Item{Name: fmt.Sprintf("f%d", i), URL: fmt.Sprintf("%s/f%d", srv.URL, i)})
	}
	opts := fastOpts(t.TempDir())
	opts.Jobs = 2
	res, err := Fetch(context.Background(), items, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak concurrency = %d, want at most 2", p)
	}
	for i, r := range res {
		if got, _ := os.ReadFile(r.Path); string(got) != fmt.Sprintf("/f%d", i) {
			t.Errorf("result %d has %q", i, got)
		}
	}
}

// TestFetchTwoProcesses starts two processes that fetch the same file into
// the same cache at once: the server sees one download and both succeed.
func TestFetchTwoProcesses(t *testing.T) {
	content := payload(512 << 10)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		for i := 0; i < len(content); i += 64 << 10 {
			w.Write(content[i:min(i+64<<10, len(content))])
			w.(http.Flusher).Flush()
			time.Sleep(40 * time.Millisecond)
		}
	}))
	defer srv.Close()
	cache := t.TempDir()
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFetch$")
		cmd.Env = append(os.Environ(), "APKIT_TEST_FETCH_URL="+srv.URL+"/shared.tar.gz",
			"APKIT_TEST_FETCH_CACHE="+cache, "APKIT_TEST_FETCH_SUM="+sha512hex(content))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("helper output:\n%s", out.String())
			}
		})
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server saw %d downloads, want 1", n)
	}
	if got, _ := os.ReadFile(filepath.Join(cache, "shared.tar.gz")); !bytes.Equal(got, content) {
		t.Errorf("cached file differs")
	}
}

// TestHelperFetch is the child process of TestFetchTwoProcesses.
func TestHelperFetch(t *testing.T) {
	u := os.Getenv("APKIT_TEST_FETCH_URL")
	if u == "" {
		t.Skip("helper process only")
	}
	item := Item{Name: "shared.tar.gz", URL: u, Sum: Checksum{SHA512, os.Getenv("APKIT_TEST_FETCH_SUM")}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Fetch(ctx, []Item{item}, fastOpts(os.Getenv("APKIT_TEST_FETCH_CACHE"))); err != nil {
		t.Fatal(err)
	}
}

// recorder is a Progress that logs events.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.log = append(r.log, s); r.mu.Unlock() }
func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}
func (r *recorder) Start(it Item) Transfer { r.add("start " + it.Name); return r }
func (r *recorder) Size(total, have int64) { r.add(fmt.Sprintf("size %d %d", total, have)) }
func (r *recorder) Add(int64)              {}
func (r *recorder) Retry(attempt int, err error, wait time.Duration) {
	r.add(fmt.Sprintf("retry %d", attempt))
}
func (r *recorder) Done(err error) { r.add(fmt.Sprintf("done %v", err)) }

func TestFetchAsksForStoredBytes(t *testing.T) {
	t.Parallel()
	content := compress(t, []byte("a tar stream\n"), FormatGz)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			// A misconfigured server labels a stored .gz as gzip-encoded,
			// which a client decoding transparently would unpack.
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Write(content)
	}))
	defer srv.Close()
	item := Item{Name: "a.tar.gz", URL: srv.URL + "/a.tar.gz", Sum: Checksum{SHA512, sha512hex(content)}}
	if _, err := Fetch(context.Background(), []Item{item}, fastOpts(t.TempDir())); err != nil {
		t.Fatal(err)
	}
}

func TestFetchLeftoverPart(t *testing.T) {
	t.Parallel()
	content := payload(100 << 10)
	for _, verified := range []bool{true, false} {
		t.Run(fmt.Sprintf("verified=%v", verified), func(t *testing.T) {
			t.Parallel()
			var (
				mu     sync.Mutex
				ranges []string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				ranges = append(ranges, r.Header.Get("Range"))
				mu.Unlock()
				http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
			}))
			defer srv.Close()
			cache := t.TempDir()
			// An earlier run died after 30000 bytes.
			os.WriteFile(filepath.Join(cache, "f.tar.gz.part"), content[:30000], 0o644)
			item := Item{Name: "f.tar.gz", URL: srv.URL + "/f.tar.gz"}
			opts := fastOpts(cache)
			want := []string{""}
			if verified {
				item.Sum = Checksum{SHA512, sha512hex(content)}
				want = []string{"bytes=30000-"}
			} else {
				opts.NoVerify = true
			}
			if _, err := Fetch(context.Background(), []Item{item}, opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ranges); diff != "" {
				t.Errorf("Range headers (-want +got):\n%s", diff)
			}
			if got, _ := os.ReadFile(filepath.Join(cache, "f.tar.gz")); !bytes.Equal(got, content) {
				t.Errorf("fetched file differs")
			}
		})
	}
}

// TestFetchProxyFromEnvironment runs a fetch in a child process whose
// HTTP_PROXY names a local proxy: the request for a host that does not
// exist reaches the proxy, which answers it.
func TestFetchProxyFromEnvironment(t *testing.T) {
	content := []byte("through the proxy\n")
	var seen atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.String()) // a proxy sees the absolute URL
		w.Write(content)
	}))
	defer proxy.Close()
	cache := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFetch$")
	cmd.Env = append(os.Environ(), "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=",
		"APKIT_TEST_FETCH_URL=http://upstream.invalid/shared.tar.gz",
		"APKIT_TEST_FETCH_CACHE="+cache, "APKIT_TEST_FETCH_SUM="+sha512hex(content))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if got, _ := seen.Load().(string); got != "http://upstream.invalid/shared.tar.gz" {
		t.Errorf("proxy saw %q", got)
	}
}

func TestLockFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.lock")
	var (
		mu     sync.Mutex
		inside int
		peak   int
		wg     sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				l, err := lockFile(context.Background(), path)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				peak = max(peak, inside)
				mu.Unlock()
				time.Sleep(100 * time.Microsecond)
				mu.Lock()
				inside--
				mu.Unlock()
				l.unlock()
			}
		}()
	}
	wg.Wait()
	if peak != 1 {
		t.Errorf("%d holders at once, want 1", peak)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("lock file left behind")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	l, _ := lockFile(context.Background(), path)
	defer l.unlock()
	if _, err := lockFile(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting on a held lock: err = %v, want the context's", err)
	}
}

func TestFetchMaxSize(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	content := payload(limit + 1)
	tests := []struct {
		name     string
		announce bool // send Content-Length up front
		mirror   bool // the oversized file comes from a local mirror
		wantSize int64
	}{
		{name: "streamed", wantSize: -1},
		{name: "announced", announce: true, wantSize: int64(len(content))},
		{name: "local mirror", mirror: true, wantSize: int64(len(content))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if tt.announce {
					w.Header().Set("Content-Length", fmt.Sprint(len(content)))
				}
				w.Write(content[:1000])
				w.(http.Flusher).Flush() // no Content-Length: chunked
				w.Write(content[1000:])
			}))
			defer srv.Close()
			cache := t.TempDir()
			opts := fastOpts(cache)
			opts.MaxSize = limit
			item := Item{Name: "big.tar.gz", URL: srv.URL + "/big.tar.gz", Sum: Checksum{SHA512, sha512hex(content)}}
			source := item.URL
			if tt.mirror {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, item.Name), content, 0o644); err != nil {
					t.Fatal(err)
				}
				opts.Mirror = dir
				opts.Offline = true
				source = filepath.Join(dir, item.Name)
			}
			_, err := Fetch(context.Background(), []Item{item}, opts)
			var tl *TooLargeError
			if !errors.As(err, &tl) && !tt.mirror {
				t.Fatalf("err = %v, want a *TooLargeError", err)
			}
			if tt.mirror {
				// Offline with the mirror refused: the item is missing, and
				// the mirror's reason is the size.
				if !errors.Is(err, ErrOffline) {
					t.Fatalf("err = %v, want ErrOffline", err)
				}
			} else {
				if diff := cmp.Diff(&TooLargeError{Source: source, Limit: limit, Size: tt.wantSize}, tl); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				if !strings.Contains(err.Error(), source) {
					t.Errorf("error %q does not name the source", err)
				}
				if n := hits.Load(); n != 1 {
					t.Errorf("server hit %d times, want 1 (not retried)", n)
				}
			}
			for _, name := range []string{item.Name, item.Name + ".part"} {
				if _, err := os.Stat(filepath.Join(cache, name)); err == nil {
					t.Errorf("%s left in the cache", name)
				}
			}
		})
	}
}
