package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/sign"
	"github.com/apkit-dev/apkit/pkg/upload"
)

// hangDeadline is how long a test waits for what must happen long before:
// only a hang exceeds it.
const hangDeadline = 30 * time.Second

// stallRequest opens a connection, sends head and then stalls; it returns
// the connection with a deadline only a hang exceeds.
func stallRequest(t *testing.T, e *env, head string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(hangDeadline))
	return conn
}

// closedByServer reads what is left on conn and reports whether the server
// closed it (EOF or a reset) rather than the deadline passing.
func closedByServer(conn net.Conn) error {
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("connection still open after %s", hangDeadline)
	}
	return nil
}

// TestStalledUnauthenticatedRequests: requests that declare a small body
// and never send it, or never finish their headers, are answered (401 for
// an upload without a valid token, from its headers alone) and their
// connections closed within the configured request timeout, many at once.
func TestStalledUnauthenticatedRequests(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.RequestTimeout = 300 * time.Millisecond })
	const n = 40
	tests := []struct {
		name string
		head string
		want int // the status expected before the close; 0 for none
	}{
		{"upload without token", "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 200000\r\n\r\n--B\r\n", 401},
		{"upload with a bad token", "POST /upload HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer a.b.c\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 1000\r\n\r\n", 401},
		{"post to a file path", "POST /edge/ HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nabc", 0},
		{"get with a body", "GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n", 0},
		{"unfinished headers", "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n", 0},
		{"nothing at all", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				conn := stallRequest(t, e, tc.head)
				wg.Add(1)
				go func() {
					defer wg.Done()
					br := bufio.NewReader(conn)
					if tc.want != 0 {
						resp, err := http.ReadResponse(br, nil)
						if err != nil {
							errs <- fmt.Errorf("no reply: %w", err)
							return
						}
						resp.Body.Close()
						if resp.StatusCode != tc.want {
							errs <- fmt.Errorf("status %d, want %d", resp.StatusCode, tc.want)
							return
						}
					}
					if err := closedByServer(conn); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
				break
			}
		})
	}
	if !strings.Contains(e.log.String(), "missing bearer token") {
		t.Errorf("the refusals were not logged:\n%s", e.log.String())
	}
}

// fullDisk is a writer that fails as a full disk does, after a few bytes.
type fullDisk struct {
	f *os.File
	n int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.n+len(p) > 16 {
		return 0, &os.PathError{Op: "write", Path: d.f.Name(), Err: syscall.ENOSPC}
	}
	d.n += len(p)
	return d.f.Write(p)
}

// fullRepo is a repository whose disk is full.
type fullRepo struct{}

func (r fullRepo) Add(ctx context.Context, dir string, files []server.File) error {
	return fmt.Errorf("add: %w", &os.PathError{Op: "write", Path: filepath.Join(dir, ".apkit-tmp-add-1.apk"), Err: syscall.ENOSPC})
}

// TestUploadDiskFull: a full disk while an upload is staged, or while the
// repository is updated, is answered 507 without naming any server path,
// logged as an error, and leaves nothing behind.
func TestUploadDiskFull(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*server.Options)
	}{
		{"staging", func(o *server.Options) { o.Verifier = nil }},
		{"repository", func(o *server.Options) { o.Verifier = nil; o.Repository = fullRepo{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "staging" {
				defer server.SetStageWriter(func(f *os.File) io.Writer { return &fullDisk{f: f} })()
			}
			e := newEnv(t, tc.mod)
			ctype, body := multipartBody(t, []part{{"file", "hello-1.0-r0.apk", fakePackage("hello", "1.0-r0", "x86_64")}})
			code, reply := e.post(t, "", ctype, body)
			if code != http.StatusInsufficientStorage {
				t.Errorf("status %d, want 507: %s", code, reply)
			}
			for _, leak := range []string{e.dir, ".upload", ".apkit-tmp"} {
				if strings.Contains(reply, leak) {
					t.Errorf("reply names %q: %s", leak, reply)
				}
			}
			var rec struct{ Level, Msg, Error string }
			found := false
			for _, line := range strings.Split(e.log.String(), "\n") {
				if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "ERROR" && strings.Contains(rec.Error, "no space left") {
					found = true
				}
			}
			if !found {
				t.Errorf("no error logged for the full disk:\n%s", e.log.String())
			}
			if got := e.stored(t); len(got) != 0 {
				t.Errorf("left behind: %v", got)
			}
			// The upload client reports it and does not try again.
			dir := filepath.Join(t.TempDir(), "main", "x86_64")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "hello-1.0-r0.apk"), fakePackage("hello", "1.0-r0", "x86_64"), 0o644)
			c := &upload.Client{URL: e.http.URL, HTTP: e.http.Client(), Attempts: 3, Backoff: time.Millisecond}
			_, err := c.Send(context.Background(), upload.Group{Repo: "main", Arch: "x86_64", Files: []string{filepath.Join(dir, "hello-1.0-r0.apk")}})
			var se *upload.ServerError
			if !errors.As(err, &se) || se.Status != http.StatusInsufficientStorage || !strings.Contains(err.Error(), "out of disk space") {
				t.Errorf("client error: %v", err)
			}
			if n := strings.Count(e.log.String(), `"msg":"upload: out of disk space"`); n != 2 {
				t.Errorf("%d uploads reached the server, want 1 besides the first", n-1)
			}
		})
	}
}

// TestUploadForgedServerSignature: a package whose signature names the
// server's own key but does not verify is refused with 422 (not 500, which
// clients retry), with or without upload_keys, and nothing is stored.
func TestUploadForgedServerSignature(t *testing.T) {
	srvKey, upKey := testKeys(t)
	forged := &sign.PrivateKey{Key: upKey.Key, Name: srvKey.Name}
	pkg := buildPackage(t, t.TempDir(), forged, "forged", "1.0-r0", "x86_64")
	for _, tc := range []struct {
		name    string
		trusted *sign.Keyring
	}{
		{"without upload keys", nil},
		{"with upload keys", keyring(upKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRealEnv(t, tc.trusted)
			code, reply := uploadFiles(t, e, "", nil, pkg)
			if code != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422: %s", code, reply)
			}
			if strings.Contains(reply, e.dir) {
				t.Errorf("reply names a server path: %s", reply)
			}
			if got := e.stored(t); len(got) != 0 {
				t.Errorf("stored: %v", got)
			}
		})
	}
}

// TestManyRanges: thousands of small ranges of a small file get a reply
// about the file's size, not hundreds of times it; adjacent ranges are
// merged and a few distinct ones are still served as asked.
func TestManyRanges(t *testing.T) {
	e := newEnv(t, nil)
	content := strings.Repeat("0123456789abcdef", 7000/16)
	writeFile(t, filepath.Join(e.dir, "edge", "main", "x86_64", server.IndexName), content, time.Now())
	path := "/edge/main/x86_64/" + server.IndexName
	ranges := func(n, step int) string {
		var b strings.Builder
		b.WriteString("bytes=")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d-%d", (i*step)%len(content), (i*step)%len(content))
		}
		return b.String()
	}
	tests := []struct {
		name   string
		rng    string
		status int
		maxLen int // bound on the reply's body
		want   string
	}{
		{"3000 single bytes", ranges(3000, 2), 0, 2 * len(content), ""},
		{"3000 bytes far apart", ranges(3000, 997), 0, 2 * len(content), ""},
		{"adjacent ranges merge", "bytes=0-9,10-19", 206, 20, content[:20]},
		{"overlapping ranges merge", "bytes=5-9,0-7", 206, 10, content[:10]},
		{"two distinct ranges", "bytes=0-1,5000-5001", 206, 1000, ""},
		{"suffix", "bytes=-5", 206, 5, content[len(content)-5:]},
		{"unsatisfiable", "bytes=99999-", 416, 1000, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, e, path, map[string]string{"Range": tc.rng})
			if tc.status != 0 && resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if resp.StatusCode != 200 && resp.StatusCode != 206 && resp.StatusCode != 416 {
				t.Errorf("status %d", resp.StatusCode)
			}
			if len(body) > tc.maxLen {
				t.Errorf("%d-byte reply for a %d-byte file", len(body), len(content))
			}
			if tc.want != "" && body != tc.want {
				t.Errorf("body %q, want %q", body, tc.want)
			}
			if tc.name == "two distinct ranges" && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") || strings.Count(body, "Content-Range") != 2) {
				t.Errorf("want a multipart reply of 2 parts:\n%s", body)
			}
		})
	}
}

// TestStartCleansAndReconciles: what a killed server leaves behind (a
// staging directory with a partial upload, a repository's temporary file,
// a package placed but not yet indexed, and one that does not verify) is
// cleaned up and reconciled when the next server starts, and logged; the
// index then lists every package on disk and a package under the name of
// the one moved aside can be uploaded.
func TestStartCleansAndReconciles(t *testing.T) {
	srvKey, upKey := testKeys(t)
	indexed := buildPackage(t, t.TempDir(), upKey, "indexed", "1.0-r0", "x86_64")
	placed := buildPackage(t, t.TempDir(), upKey, "placed", "1.0-r0", "x86_64")
	var arch string
	e := newEnv(t, func(o *server.Options) {
		o.Validator = server.PackageValidator{Keys: keyring(upKey)}
		o.Repository = &server.Repositories{Options: repo.Options{Key: srvKey, Keys: keyring(upKey)}}
		o.MaxUploadSize = 8 << 20
		o.Verifier = nil
		arch = filepath.Join(o.Dir, "v3.22", "main", "x86_64")
		r, err := repo.Open(arch, repo.Options{Key: srvKey, Keys: keyring(upKey)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Add(context.Background(), indexed); err != nil {
			t.Fatal(err)
		}
		// The leftovers of a kill.
		b, _ := os.ReadFile(placed)
		mustWrite(t, filepath.Join(arch, "placed-1.0-r0.apk"), b)
		mustWrite(t, filepath.Join(arch, "junk-1.0-r0.apk"), []byte("half a package"))
		mustWrite(t, filepath.Join(arch, ".apkit-tmp-add-123.apk"), []byte("partial copy"))
		mustWrite(t, filepath.Join(o.Dir, ".upload", "srv-123", "up-1.apk"), []byte("partial upload"))
		mustWrite(t, filepath.Join(o.Dir, ".upload", "srv-123.lock"), nil)
	})
	if diff := cmpStrings([]string{"indexed-1.0-r0.apk", "placed-1.0-r0.apk"}, servedIndex(t, e.http.URL, "v3.22/main/x86_64")); diff != "" {
		t.Error(diff)
	}
	var left []string
	for _, glob := range []string{filepath.Join(arch, ".apkit-tmp-*"), filepath.Join(arch, "junk-*"), filepath.Join(e.dir, ".upload", "srv-123*")} {
		m, _ := filepath.Glob(glob)
		left = append(left, m...)
	}
	if len(left) > 0 {
		t.Errorf("left after start: %v", left)
	}
	if _, err := os.Stat(filepath.Join(arch, ".apkit-rejected-junk-1.0-r0.apk")); err != nil {
		t.Errorf("the package that does not verify was not moved aside: %v", err)
	}
	log := e.log.String()
	for _, want := range []string{"removed partial uploads", "removed a temporary file", "indexed a package that was on disk", "moved aside a package"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	junk := buildPackage(t, t.TempDir(), upKey, "junk", "1.0-r0", "x86_64")
	if code, reply := uploadFiles(t, e, "", map[string]string{"version": "v3.22"}, junk); code != 200 {
		t.Errorf("upload under the name moved aside: %d %s", code, reply)
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSymlinkToDotName: a symbolic link inside the tree that leads to a
// dot-name (the upload staging area, a lock, a temporary file) is not
// followed; one that leads to a plain name of the tree still is.
func TestSymlinkToDotName(t *testing.T) {
	e := newEnv(t, nil)
	arch := filepath.Join(e.dir, "edge", "main", "x86_64")
	mustWrite(t, filepath.Join(arch, "hello-1.0-r0.apk"), []byte("pkg"))
	mustWrite(t, filepath.Join(arch, ".apkit-tmp-add-1.apk"), []byte("secret-temp"))
	mustWrite(t, filepath.Join(e.dir, ".upload", "srv-1", "up-1.apk"), []byte("secret-staged"))
	links := map[string]string{
		filepath.Join(e.dir, "edge", "up"):         "../.upload",
		filepath.Join(e.dir, "edge", "staged.apk"): "../.upload/srv-1/up-1.apk",
		filepath.Join(arch, "tmp.apk"):             ".apkit-tmp-add-1.apk",
		filepath.Join(e.dir, "latest"):             "edge",
	}
	for link, target := range links {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{"/edge/up/", "/edge/up/srv-1/up-1.apk", "/edge/staged.apk", "/edge/main/x86_64/tmp.apk"} {
		code, body := rawGet(t, e, target)
		if code != http.StatusNotFound || strings.Contains(body, "secret-") || strings.Contains(body, "srv-1") {
			t.Errorf("%s: %d %q", target, code, body)
		}
	}
	if code, body := rawGet(t, e, "/latest/main/x86_64/hello-1.0-r0.apk"); code != 200 || body != "pkg" {
		t.Errorf("a link to a plain name: %d %q", code, body)
	}
}

// TestTricklingUploadsReleaseSlots: authenticated uploads that send a byte
// now and then, never idle long enough for the idle timeout, are cut once
// they fall under the minimum rate, so they cannot hold every upload slot;
// an upload at a normal rate then gets through.
func TestTricklingUploadsReleaseSlots(t *testing.T) {
	e := newEnv(t, func(o *server.Options) {
		o.Verifier = nil
		o.MaxConcurrentUploads = 2
		o.MinUploadRate = 1000
		o.UploadRateGrace = 300 * time.Millisecond
	})
	ctype, body := multipartBody(t, []part{{"file", "hello-1.0-r0.apk", fakePackage("hello", "1.0-r0", "x86_64")}})
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctype, 1<<20)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		conn := stallRequest(t, e, head)
		stop := make(chan struct{})
		wg.Add(2)
		go func() { // a byte every 50 ms: 20 bytes/s
			defer wg.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := conn.Write(body[i%len(body) : i%len(body)+1]); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			defer close(stop)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	// Both slots are taken; a third upload waits for one.
	for i := 0; i < 1000 && !strings.Contains(metricsText(t, e), "apkit_uploads_in_flight 2"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/upload", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", ctype)
	c := &http.Client{Timeout: hangDeadline}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("an upload behind two trickling ones: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusRequestTimeout {
			t.Errorf("trickling upload: status %d, want 408", code)
		}
	}
}

// inodeValidator wraps a Validator and records each staged file's inode.
type inodeValidator struct {
	server.Validator
	mu     sync.Mutex
	inodes map[uint64]bool
}

func (v *inodeValidator) Validate(ctx context.Context, path string) (*server.Package, error) {
	if fi, err := os.Stat(path); err == nil {
		v.mu.Lock()
		v.inodes[fi.Sys().(*syscall.Stat_t).Ino] = true
		v.mu.Unlock()
	}
	return v.Validator.Validate(ctx, path)
}

// TestUploadLinkedNotCopied: an accepted upload is the very file that was
// staged, linked into the repository, not a copy that needs its size free
// a second time.
func TestUploadLinkedNotCopied(t *testing.T) {
	srvKey, upKey := testKeys(t)
	v := &inodeValidator{Validator: server.PackageValidator{Keys: keyring(upKey)}, inodes: map[uint64]bool{}}
	e := newEnv(t, func(o *server.Options) {
		o.Validator = v
		o.Repository = &server.Repositories{Options: repo.Options{Key: srvKey, Keys: keyring(upKey)}}
		o.MaxUploadSize = 8 << 20
		o.Verifier = nil
	})
	pkg := buildPackage(t, t.TempDir(), upKey, "linked", "1.0-r0", "x86_64")
	if code, reply := uploadFiles(t, e, "", nil, pkg); code != 200 {
		t.Fatalf("upload: %d %s", code, reply)
	}
	fi, err := os.Stat(filepath.Join(e.dir, "edge", "main", "x86_64", "linked-1.0-r0.apk"))
	if err != nil {
		t.Fatal(err)
	}
	if !v.inodes[fi.Sys().(*syscall.Stat_t).Ino] {
		t.Error("the package in the repository is a copy of the staged upload, not the staged file itself")
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	for _, f := range e.stored(t) {
		if strings.Contains(f, ".apkit-tmp") || strings.HasPrefix(f, ".upload/") {
			t.Errorf("left behind: %s", f)
		}
	}
}

// TestRequestTimeoutSparesTransfers: request_timeout bounds reading a
// request, not a download that takes longer, nor the body of an accepted
// upload.
func TestRequestTimeoutSparesTransfers(t *testing.T) {
	e := newEnv(t, func(o *server.Options) {
		o.Verifier = nil
		o.RequestTimeout = 200 * time.Millisecond
	})
	mustWrite(t, filepath.Join(e.dir, "big.apk"), make([]byte, 4<<20))
	resp, err := e.http.Client().Get(e.http.URL + "/big.apk")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	buf := make([]byte, 256<<10)
	for i := 0; ; i++ {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err != nil {
			break
		}
		if i < 10 {
			time.Sleep(50 * time.Millisecond) // a slow reader, for a while
		}
	}
	resp.Body.Close()
	if n != 4<<20 {
		t.Errorf("download cut at %d bytes", n)
	}

	ctype, body := multipartBody(t, []part{{"file", "slow-1-r0.apk", fakePackage("slow", "1-r0", "x86_64")}})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/upload", pr)
	req.Header.Set("Content-Type", ctype)
	req.ContentLength = int64(len(body))
	go func() {
		pw.Write(body[:len(body)/2])
		time.Sleep(600 * time.Millisecond) // three request timeouts
		pw.Write(body[len(body)/2:])
		pw.Close()
	}()
	resp, err = e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("upload slower than request_timeout: status %d", resp.StatusCode)
	}
}
