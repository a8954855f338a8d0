package upload_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/upload"
)

func touch(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "main/x86_64/a-1-r0.apk"), "x86_64")
	touch(t, filepath.Join(dir, "main/x86_64/b-1-r0.apk"), "noarch")
	touch(t, filepath.Join(dir, "main/x86_64/APKINDEX.tar.gz"), "")
	touch(t, filepath.Join(dir, "community/aarch64/c-1-r0.apk"), "aarch64")
	touch(t, filepath.Join(dir, "main/.hidden/d-1-r0.apk"), "x86_64")
	touch(t, filepath.Join(dir, "main/x86_64/e-1-r0.apk"), "aarch64") // misplaced: its own arch wins
	archOf := func(p string) (string, error) {
		b, err := os.ReadFile(p)
		return string(b), err
	}
	rel := func(gs []upload.Group) []upload.Group {
		for i := range gs {
			for j, f := range gs[i].Files {
				gs[i].Files[j], _ = filepath.Rel(dir, f)
			}
		}
		return gs
	}
	tests := []struct {
		name   string
		paths  []string
		repo   string
		archOf upload.ArchFunc
		want   []upload.Group
	}{
		{"tree, arch from packages", []string{dir}, "", archOf, []upload.Group{
			{Repo: "community", Arch: "aarch64", Files: []string{"community/aarch64/c-1-r0.apk"}},
			{Repo: "main", Arch: "aarch64", Files: []string{"main/x86_64/e-1-r0.apk"}},
			{Repo: "main", Arch: "x86_64", Files: []string{"main/x86_64/a-1-r0.apk", "main/x86_64/b-1-r0.apk"}},
		}},
		{"tree, arch from directories", []string{dir}, "", nil, []upload.Group{
			{Repo: "community", Arch: "aarch64", Files: []string{"community/aarch64/c-1-r0.apk"}},
			{Repo: "main", Arch: "x86_64", Files: []string{"main/x86_64/a-1-r0.apk", "main/x86_64/b-1-r0.apk", "main/x86_64/e-1-r0.apk"}},
		}},
		{"files with repo override", []string{filepath.Join(dir, "main/x86_64/a-1-r0.apk"), filepath.Join(dir, "community/aarch64/c-1-r0.apk")}, "testing", nil, []upload.Group{
			{Repo: "testing", Arch: "aarch64", Files: []string{"community/aarch64/c-1-r0.apk"}},
			{Repo: "testing", Arch: "x86_64", Files: []string{"main/x86_64/a-1-r0.apk"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := upload.Plan(tc.paths, tc.repo, tc.archOf)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rel(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := upload.Plan([]string{t.TempDir()}, "", nil); err == nil {
		t.Error("empty directory: no error")
	}

	// A package outside a <repo>/<arch>/ directory: its repository (and for
	// noarch its architecture) cannot be told from where it lies.
	loose := filepath.Join(dir, "downloads")
	touch(t, filepath.Join(loose, "f-1-r0.apk"), "x86_64")
	touch(t, filepath.Join(loose, "g-1-r0.apk"), "noarch")
	got, err := upload.Plan([]string{filepath.Join(loose, "f-1-r0.apk")}, "testing", archOf)
	if err != nil {
		t.Fatal(err)
	}
	want := []upload.Group{{Repo: "testing", Arch: "x86_64", Files: []string{"downloads/f-1-r0.apk"}}}
	if diff := cmp.Diff(want, rel(got)); diff != "" {
		t.Errorf("loose package with repo (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name, file, repo, want string
	}{
		{"loose package", "f-1-r0.apk", "", "cannot tell its repository"},
		{"loose noarch package", "g-1-r0.apk", "testing", "cannot tell its architecture"},
		{"loose package, arch from directory", "f-1-r0.apk", "testing", "cannot tell its architecture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := archOf
			if strings.Contains(tc.name, "from directory") {
				f = nil
			}
			_, err := upload.Plan([]string{filepath.Join(loose, tc.file)}, tc.repo, f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
			if tc.repo == "" && !errors.Is(err, upload.ErrUnknownRepo) {
				t.Errorf("err = %v, want one matching ErrUnknownRepo", err)
			}
			if err != nil && strings.Contains(err.Error(), "--") {
				t.Errorf("err = %v names a command-line flag", err)
			}
		})
	}
}

func TestSendRetries(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "main/x86_64/a-1-r0.apk")
	touch(t, pkg, strings.Repeat("package bytes ", 1000))
	g := upload.Group{Repo: "main", Arch: "x86_64", Files: []string{pkg}}

	tests := []struct {
		name     string
		codes    []int // reply codes in turn; 0 drops the connection
		wantErr  int   // 0 for success, else the final status (-1: network error)
		attempts int32
	}{
		{"ok", []int{200}, 0, 1},
		{"5xx then ok", []int{500, 503, 200}, 0, 3},
		{"dropped connection then ok", []int{0, 200}, 0, 2},
		{"401 is final", []int{401, 200}, 401, 1},
		{"403 is final", []int{403}, 403, 1},
		{"409 is final", []int{409}, 409, 1},
		{"422 is final", []int{422}, 422, 1},
		{"507 is final", []int{507, 200}, 507, 1},
		{"gives up", []int{502, 502, 502, 502}, 502, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				code := tc.codes[min(i, len(tc.codes)-1)]
				if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/base/upload" {
					http.Error(w, "bad request shape", 400)
					return
				}
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				if r.FormValue("repo") != "main" || r.FormValue("arch") != "x86_64" || r.FormValue("version") != "v3.20" {
					http.Error(w, "bad fields", 400)
					return
				}
				f, fh, err := r.FormFile("file")
				if err != nil || fh.Filename != "a-1-r0.apk" {
					http.Error(w, "bad file", 400)
					return
				}
				b, _ := io.ReadAll(f)
				if string(b) != strings.Repeat("package bytes ", 1000) {
					http.Error(w, "bad content", 400)
					return
				}
				switch code {
				case 0:
					hj, _ := w.(http.Hijacker)
					c, _, _ := hj.Hijack()
					c.Close()
				case 200:
					w.Write([]byte(`{"repository":"v3.20/main/x86_64","added":[{"file":"a-1-r0.apk","name":"a","version":"1-r0","arch":"x86_64","size":14000}]}`))
				default:
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(code)
					w.Write([]byte(`{"error":"the reason"}`))
				}
			}))
			defer srv.Close()
			c := &upload.Client{URL: srv.URL + "/base/", Token: "tok", Version: "v3.20", HTTP: srv.Client(), Attempts: 3, Backoff: time.Millisecond}
			reply, err := c.Send(context.Background(), g)
			if got := n.Load(); got != tc.attempts {
				t.Errorf("attempts = %d, want %d", got, tc.attempts)
			}
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if reply.Repository != "v3.20/main/x86_64" || len(reply.Added) != 1 {
					t.Errorf("reply = %+v", reply)
				}
				return
			}
			var se *upload.ServerError
			if !errors.As(err, &se) || se.Status != tc.wantErr || se.Message != "the reason" {
				t.Fatalf("error = %v, want a %d with the server's message", err, tc.wantErr)
			}
		})
	}
}

func TestSendNetworkError(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "main/x86_64/a-1-r0.apk")
	touch(t, pkg, "package bytes")
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c := &upload.Client{URL: url, Version: "edge", Attempts: 1, Backoff: time.Millisecond}
	_, err := c.Send(context.Background(), upload.Group{Repo: "main", Arch: "x86_64", Files: []string{pkg}})
	if err == nil {
		t.Fatal("no error")
	}
	// The URL is named once.
	if n := strings.Count(err.Error(), url); n != 1 {
		t.Errorf("error names %s %d times: %v", url, n, err)
	}
}

func TestTokenSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	touch(t, file, "  from-file\n")
	env := map[string]string{"APKIT_TOKEN": "apkit", "MY_ID_TOKEN": "idtoken", "CI_JOB_JWT_V2": "v2", "CI_JOB_JWT": "v1"}
	tests := []struct {
		name      string
		src       upload.TokenSource
		drop      []string
		want, frm string
	}{
		{"file first", upload.TokenSource{File: file, Env: "MY_ID_TOKEN"}, nil, "from-file", file},
		{"named variable", upload.TokenSource{Env: "MY_ID_TOKEN"}, nil, "idtoken", "$MY_ID_TOKEN"},
		{"default variable", upload.TokenSource{}, nil, "apkit", "$APKIT_TOKEN"},
		{"gitlab v2", upload.TokenSource{}, []string{"APKIT_TOKEN"}, "v2", "$CI_JOB_JWT_V2"},
		{"gitlab v1", upload.TokenSource{Env: "UNSET"}, []string{"APKIT_TOKEN", "CI_JOB_JWT_V2"}, "v1", "$CI_JOB_JWT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for _, k := range tc.drop {
				delete(e, k)
			}
			tc.src.Getenv = func(k string) string { return e[k] }
			tok, from, err := tc.src.Token()
			if err != nil || tok != tc.want || from != tc.frm {
				t.Errorf("Token() = %q, %q, %v; want %q from %q", tok, from, err, tc.want, tc.frm)
			}
		})
	}
	if _, _, err := (upload.TokenSource{Getenv: func(string) string { return "" }}).Token(); !errors.Is(err, upload.ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
}

func TestSystemVersion(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n", "v3.20"},
		{"ID=alpine\nVERSION_ID=3.21_alpha20240807\nPRETTY_NAME=\"Alpine Linux edge\"\n", "edge"},
		{"ID=debian\nVERSION_ID=\"12\"\n", ""},
	} {
		p := filepath.Join(dir, "os-release")
		touch(t, p, tc.content)
		got, err := upload.SystemVersion(p)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("SystemVersion(%q) = %q, %v; want %q", tc.content, got, err, tc.want)
		}
	}
}

// A server that redirects (an http:// URL for a server that only redirects
// to https) is not followed: the POST would turn into a GET and the
// server's 405 would hide the cause. The error names where to go instead.
func TestSendRedirectNotFollowed(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "main/x86_64/a-1-r0.apk")
	touch(t, pkg, "package bytes")
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		http.Error(w, `{"error":"use POST"}`, http.StatusMethodNotAllowed)
	}))
	defer target.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+r.URL.RequestURI(), code)
			}))
			defer srv.Close()
			c := &upload.Client{URL: srv.URL, Token: "tok", Version: "edge", HTTP: srv.Client(), Attempts: 3, Backoff: time.Millisecond}
			_, err := c.Send(context.Background(), upload.Group{Repo: "main", Arch: "x86_64", Files: []string{pkg}})
			if followed.Load() != 0 {
				t.Fatal("redirect followed")
			}
			var se *upload.ServerError
			if !errors.As(err, &se) || se.Status != code {
				t.Fatalf("error = %v, want a %d", err, code)
			}
			if !strings.Contains(err.Error(), "redirects to "+target.URL+"/upload") || !strings.Contains(err.Error(), "--url") {
				t.Errorf("error = %v, want it to name the new location and --url", err)
			}
		})
	}
}

type retryRecorder struct{ waits []time.Duration }

func (*retryRecorder) Start(upload.Group, int, int64) {}
func (*retryRecorder) Sent(int64)                     {}
func (r *retryRecorder) Retry(_ upload.Group, _ error, d time.Duration) {
	r.waits = append(r.waits, d)
}

// A 503 with Retry-After is retried no sooner than the server asked (up to
// a minute), not after the client's shorter backoff.
func TestSendHonoursRetryAfter(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "main/x86_64/a-1-r0.apk")
	touch(t, pkg, "package bytes")
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"cannot check tokens now; try again later"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"repository":"edge/main/x86_64","added":[]}`))
	}))
	defer srv.Close()
	rec := &retryRecorder{}
	c := &upload.Client{URL: srv.URL, Version: "edge", HTTP: srv.Client(), Attempts: 2, Backoff: time.Millisecond, Progress: rec}
	if _, err := c.Send(context.Background(), upload.Group{Repo: "main", Arch: "x86_64", Files: []string{pkg}}); err != nil {
		t.Fatal(err)
	}
	if len(rec.waits) != 1 || rec.waits[0] < time.Second {
		t.Errorf("waits = %v, want one of at least 1s", rec.waits)
	}
}

// A certificate the client does not trust will not be trusted on the next
// try either: no retries.
func TestSendUntrustedCertificateNotRetried(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "main/x86_64/a-1-r0.apk")
	touch(t, pkg, "package bytes")
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	rec := &retryRecorder{}
	c := &upload.Client{URL: srv.URL, Version: "edge", HTTP: &http.Client{}, Attempts: 3, Backoff: time.Millisecond, Progress: rec}
	_, err := c.Send(context.Background(), upload.Group{Repo: "main", Arch: "x86_64", Files: []string{pkg}})
	var ce *tls.CertificateVerificationError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a certificate verification error", err)
	}
	if len(rec.waits) != 0 {
		t.Errorf("retried %d times", len(rec.waits))
	}
}
