package source

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countingServer serves content at every path of paths and 404 elsewhere
// (or status for every request when status is not 0), and logs the paths
// it was asked for.
type countingServer struct {
	*httptest.Server
	mu   sync.Mutex
	log  []string
	body map[string][]byte
	code int
}

func newCountingServer(t *testing.T, body map[string][]byte, code int) *countingServer {
	t.Helper()
	s := &countingServer{body: body, code: code}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.log = append(s.log, r.URL.Path)
		s.mu.Unlock()
		if s.code != 0 {
			http.Error(w, "no", s.code)
			return
		}
		b, ok := s.body[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(b))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *countingServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func TestFetchMirror(t *testing.T) {
	t.Parallel()
	content := payload(100 << 10)
	sum := Checksum{Algo: SHA512, Digest: sha512hex(content)}
	bad := []byte("not the release tarball")

	tests := []struct {
		name string
		// mirror's files (by path) and forced status
		mirror     map[string][]byte
		mirrorCode int
		// localMirror puts mirror's files in a directory instead
		localMirror bool
		fileURL     bool
		wantMirror  []string // paths the mirror was asked for
		wantUp      []string // paths upstream was asked for
		fromMirror  bool
		mirrorErr   func(error) bool
		movedAside  []byte // content expected at <name>.<8 hex>
	}{
		{
			name:       "hit",
			mirror:     map[string][]byte{"/pub/foo-1.0.tar.gz": content},
			wantMirror: []string{"/pub/foo-1.0.tar.gz"},
			fromMirror: true,
		},
		{
			name:       "404 falls back to upstream",
			mirror:     map[string][]byte{},
			wantMirror: []string{"/pub/foo-1.0.tar.gz"},
			wantUp:     []string{"/releases/v1.0.tar.gz"},
			mirrorErr: func(err error) bool {
				var he *HTTPError
				return errors.As(err, &he) && he.StatusCode == http.StatusNotFound
			},
		},
		{
			name:       "5xx is not retried on the mirror",
			mirrorCode: http.StatusServiceUnavailable,
			wantMirror: []string{"/pub/foo-1.0.tar.gz"},
			wantUp:     []string{"/releases/v1.0.tar.gz"},
			mirrorErr: func(err error) bool {
				var he *HTTPError
				return errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable
			},
		},
		{
			name:       "wrong bytes are moved aside, then upstream",
			mirror:     map[string][]byte{"/pub/foo-1.0.tar.gz": bad},
			wantMirror: []string{"/pub/foo-1.0.tar.gz"},
			wantUp:     []string{"/releases/v1.0.tar.gz"},
			mirrorErr: func(err error) bool {
				var ce *ChecksumError
				return errors.As(err, &ce) && strings.Contains(ce.Source, "/pub/foo-1.0.tar.gz")
			},
			movedAside: bad,
		},
		{
			name:        "local directory hit",
			mirror:      map[string][]byte{"foo-1.0.tar.gz": content},
			localMirror: true,
			fromMirror:  true,
		},
		{
			name:        "file URL hit",
			mirror:      map[string][]byte{"foo-1.0.tar.gz": content},
			localMirror: true,
			fileURL:     true,
			fromMirror:  true,
		},
		{
			name:        "local directory miss",
			mirror:      map[string][]byte{},
			localMirror: true,
			wantUp:      []string{"/releases/v1.0.tar.gz"},
			mirrorErr:   func(err error) bool { return errors.Is(err, os.ErrNotExist) },
		},
		{
			name:        "local directory wrong bytes",
			mirror:      map[string][]byte{"foo-1.0.tar.gz": bad},
			localMirror: true,
			wantUp:      []string{"/releases/v1.0.tar.gz"},
			mirrorErr:   func(err error) bool { return errors.Is(err, ErrChecksumMismatch) },
			movedAside:  bad,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newCountingServer(t, map[string][]byte{"/releases/v1.0.tar.gz": content}, 0)
			opts := fastOpts(t.TempDir())
			var ms *countingServer
			if tt.localMirror {
				dir := t.TempDir()
				for name, b := range tt.mirror {
					if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				opts.Mirror = dir
				if tt.fileURL {
					opts.Mirror = "file://" + dir
				}
			} else {
				ms = newCountingServer(t, tt.mirror, tt.mirrorCode)
				opts.Mirror = ms.URL + "/pub/"
			}
			// A newname::URL source: the mirror is asked for the saved name.
			it := Item{Name: "foo-1.0.tar.gz", URL: up.URL + "/releases/v1.0.tar.gz", Sum: sum}
			res, err := Fetch(context.Background(), []Item{it}, opts)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			got, err := os.ReadFile(res[0].Path)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("cached file wrong (err %v)", err)
			}
			if !res[0].Downloaded || res[0].FromMirror != tt.fromMirror {
				t.Errorf("Downloaded, FromMirror = %v, %v; want true, %v", res[0].Downloaded, res[0].FromMirror, tt.fromMirror)
			}
			if tt.mirrorErr == nil && res[0].MirrorErr != nil || tt.mirrorErr != nil && !tt.mirrorErr(res[0].MirrorErr) {
				t.Errorf("MirrorErr = %v", res[0].MirrorErr)
			}
			if ms != nil {
				if diff := cmp.Diff(tt.wantMirror, ms.requests()); diff != "" {
					t.Errorf("mirror requests (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantUp, up.requests()); diff != "" {
				t.Errorf("upstream requests (-want +got):\n%s", diff)
			}
			aside := filepath.Join(opts.Cache, it.Name+"."+sum.Digest[:8])
			moved, err := os.ReadFile(aside)
			if tt.movedAside == nil {
				if err == nil {
					t.Errorf("%s exists", aside)
				}
			} else if !bytes.Equal(moved, tt.movedAside) {
				t.Errorf("moved-aside file = %q, %v; want the mirror's bad copy", moved, err)
			}
			if _, err := os.Stat(filepath.Join(opts.Cache, it.Name+".part")); err == nil {
				t.Errorf(".part left behind")
			}
		})
	}
}

// A mirror and upstream that both serve wrong bytes fail the fetch with
// the upstream checksum error.
func TestFetchMirrorAndUpstreamWrong(t *testing.T) {
	t.Parallel()
	content := payload(1000)
	sum := Checksum{Algo: SHA512, Digest: sha512hex(content)}
	up := newCountingServer(t, map[string][]byte{"/f.tar.gz": []byte("upstream junk")}, 0)
	ms := newCountingServer(t, map[string][]byte{"/f.tar.gz": []byte("mirror junk")}, 0)
	opts := fastOpts(t.TempDir())
	opts.Mirror = ms.URL
	res, err := Fetch(context.Background(), []Item{{Name: "f.tar.gz", URL: up.URL + "/f.tar.gz", Sum: sum}}, opts)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Source != "" {
		t.Fatalf("err = %v, want the upstream checksum error", err)
	}
	if !errors.Is(res[0].MirrorErr, ErrChecksumMismatch) {
		t.Errorf("MirrorErr = %v", res[0].MirrorErr)
	}
	if _, err := os.Stat(filepath.Join(opts.Cache, "f.tar.gz")); err == nil {
		t.Error("a bad file has the final name")
	}
}

// Offline, a local-directory mirror still fills the cache; a URL mirror
// is not asked.
func TestFetchMirrorOffline(t *testing.T) {
	t.Parallel()
	content := payload(1000)
	sum := Checksum{Algo: SHA512, Digest: sha512hex(content)}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.tar.gz"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	items := []Item{
		{Name: "a.tar.gz", URL: "https://example.invalid/a.tar.gz", Sum: sum},
		{Name: "b.tar.gz", URL: "https://example.invalid/b.tar.gz", Sum: sum},
	}
	opts := fastOpts(t.TempDir())
	opts.Offline, opts.Mirror = true, dir
	_, err := Fetch(context.Background(), items, opts)
	var me *MissingError
	if !errors.As(err, &me) || len(me.Items) != 1 || me.Items[0].Name != "b.tar.gz" {
		t.Fatalf("err = %v, want only b.tar.gz missing", err)
	}
	res, err := Fetch(context.Background(), items[:1], opts)
	if err != nil || !res[0].FromMirror {
		t.Fatalf("Fetch = %+v, %v", res, err)
	}

	ms := newCountingServer(t, map[string][]byte{"/b.tar.gz": content}, 0)
	opts.Mirror = ms.URL
	if _, err := Fetch(context.Background(), items[1:], opts); !errors.Is(err, ErrOffline) {
		t.Errorf("err = %v, want offline", err)
	}
	if n := len(ms.requests()); n != 0 {
		t.Errorf("offline fetch asked the mirror %d times", n)
	}
}

func TestFetchMirrorInvalid(t *testing.T) {
	t.Parallel()
	for _, m := range []string{"gopher://mirror.example/", "https://", "http://%zz"} {
		opts := fastOpts(t.TempDir())
		opts.Mirror = m
		_, err := Fetch(context.Background(), []Item{{Name: "a", URL: "https://example.invalid/a"}}, opts)
		if err == nil || !strings.Contains(err.Error(), "mirror") {
			t.Errorf("mirror %q: err = %v", m, err)
		}
	}
}
