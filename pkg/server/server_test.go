package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/auth"
	"github.com/apkit-dev/apkit/pkg/auth/authtest"
	"github.com/apkit-dev/apkit/pkg/server"
)

var (
	provOnce sync.Once
	prov     *authtest.Provider
)

func provider(t testing.TB) *authtest.Provider {
	t.Helper()
	provOnce.Do(func() {
		var err error
		if prov, err = authtest.New(); err != nil {
			panic(err)
		}
	})
	return prov
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

type env struct {
	dir  string
	srv  *server.Server
	http *testServer
	log  *syncBuffer
	p    *authtest.Provider
}

// testServer is a [server.Server] served by its own Serve on 127.0.0.1,
// with the timeouts a real one has.
type testServer struct {
	URL      string
	Listener net.Listener
	client   *http.Client
	stop     func()
}

// Client returns a client of its own for the server.
func (ts *testServer) Client() *http.Client { return ts.client }

// Close stops the server and waits for Serve to return.
func (ts *testServer) Close() { ts.stop() }

func serveTest(t testing.TB, srv *server.Server) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, []net.Listener{l}, nil, time.Second) }()
	client := &http.Client{Transport: &http.Transport{}}
	var once sync.Once
	return &testServer{URL: "http://" + l.Addr().String(), Listener: l, client: client, stop: func() {
		once.Do(func() {
			client.CloseIdleConnections()
			cancel()
			<-served
		})
	}}
}

func newEnv(t testing.TB, mod func(*server.Options)) *env {
	t.Helper()
	p := provider(t)
	v, err := auth.New(auth.Options{
		JWKSURL:    p.JWKSURL,
		Issuer:     p.Issuer,
		Audience:   []string{authtest.Audience},
		Claims:     map[string]auth.Rule{"project_path": {"group/*"}},
		HTTPClient: p.Server.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: t.TempDir(), log: &syncBuffer{}, p: p}
	opts := server.Options{
		Dir:           e.dir,
		Verifier:      v,
		Validator:     fakeValidator{},
		Repository:    &fakeRepo{},
		MaxUploadSize: 1 << 20,
		Logger:        slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&opts)
	}
	e.srv, err = server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.http = serveTest(t, e.srv)
	t.Cleanup(func() { e.http.Close(); e.srv.Close() })
	return e
}

type part struct {
	field, filename string
	body            []byte
}

func multipartBody(t testing.TB, parts []part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.field, p.filename)
		} else {
			w, err = mw.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func (e *env) post(t testing.TB, token, ctype string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/upload", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stored lists the .apk files under the tree and anything left in staging
// (the running server's lock file aside).
func (e *env) stored(t testing.TB) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(e.dir, p)
			if dir, name := filepath.Split(rel); dir == ".upload/" && strings.HasSuffix(name, ".lock") {
				return nil
			}
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestUploadAttacks(t *testing.T) {
	p := provider(t)
	claims := func(mod func(map[string]any)) map[string]any {
		c := p.Claims("job")
		if mod != nil {
			mod(c)
		}
		return c
	}
	tok := func(c map[string]any) string {
		s, err := p.RS256(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := tok(claims(nil))
	goodFile := part{"file", "hello-1.0-r0.apk", fakePackage("hello", "1.0-r0", "x86_64")}
	form := func(parts ...part) []part { return parts }
	hsToken, _ := authtest.Sign(jose.HS256, []byte(fmt.Sprint(p.RSA.PublicKey.N)), authtest.RSAKeyID, claims(nil))
	payload, _ := json.Marshal(claims(nil))
	b64 := func(s []byte) string { return strings.TrimRight(jsonB64(s), "=") }
	noneToken := b64([]byte(`{"alg":"none","kid":"test-rsa"}`)) + "." + b64(payload) + "."

	tests := []struct {
		name   string
		token  string
		ctype  string // "" means the multipart writer's
		parts  []part
		body   []byte // when set, sent as is
		status int
	}{
		{name: "no token", parts: form(goodFile), status: 401},
		{name: "malformed token", token: "abc.def", parts: form(goodFile), status: 401},
		{name: "expired", token: tok(claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), parts: form(goodFile), status: 401},
		{name: "not yet valid", token: tok(claims(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), parts: form(goodFile), status: 401},
		{name: "wrong issuer", token: tok(claims(func(c map[string]any) { c["iss"] = "https://gitlab.evil.test" })), parts: form(goodFile), status: 401},
		{name: "wrong audience", token: tok(claims(func(c map[string]any) { c["aud"] = "https://else.test" })), parts: form(goodFile), status: 401},
		{name: "claim mismatch", token: tok(claims(func(c map[string]any) { c["project_path"] = "evil/project" })), parts: form(goodFile), status: 403},
		{name: "alg none", token: noneToken, parts: form(goodFile), status: 401},
		{name: "hs256 with public key", token: hsToken, parts: form(goodFile), status: 401},
		{name: "unknown kid", token: func() string { s, _ := authtest.Sign(jose.RS256, p.RSA, "nope", claims(nil)); return s }(), parts: form(goodFile), status: 401},
		{name: "version dotdot", token: good, parts: form(part{"version", "", []byte("..")}, goodFile), status: 400},
		{name: "repo with slash", token: good, parts: form(part{"repo", "", []byte("a/b")}, goodFile), status: 400},
		{name: "arch path", token: good, parts: form(part{"arch", "", []byte("../../etc")}, goodFile), status: 400},
		{name: "version empty", token: good, parts: form(part{"version", "", []byte("")}, goodFile), status: 400},
		{name: "file name with path", token: good, parts: form(part{"file", "../hello-1.0-r0.apk", goodFile.body}), status: 400},
		{name: "file name with dir", token: good, parts: form(part{"file", "x/hello-1.0-r0.apk", goodFile.body}), status: 400},
		{name: "file name hidden", token: good, parts: form(part{"file", ".hello-1.0-r0.apk", goodFile.body}), status: 400},
		{name: "file name not apk", token: good, parts: form(part{"file", "APKINDEX.tar.gz", goodFile.body}), status: 400},
		{name: "no file", token: good, parts: form(part{"repo", "", []byte("main")}), status: 400},
		{name: "same file twice", token: good, parts: form(goodFile, goodFile), status: 400},
		{name: "not multipart", token: good, ctype: "application/json", body: []byte(`{}`), status: 400},
		{name: "not a package", token: good, parts: form(part{"file", "hello-1.0-r0.apk", []byte("hello world")}), status: 422},
		{name: "broken checksum", token: good, parts: form(part{"file", "hello-1.0-r0.apk", []byte("PKG hello 1.0-r0 x86_64\nBROKEN\n")}), status: 422},
		{name: "other arch", token: good, parts: form(part{"file", "hello-1.0-r0.apk", fakePackage("hello", "1.0-r0", "aarch64")}), status: 422},
		{name: "name does not match pkginfo", token: good, parts: form(part{"file", "hello-2.0-r0.apk", fakePackage("hello", "1.0-r0", "x86_64")}), status: 422},
		{name: "one bad file refuses all", token: good, parts: form(goodFile, part{"file", "bad-1-r0.apk", []byte("junk")}), status: 422},
		{name: "oversized", token: good, parts: form(part{"file", "big-1-r0.apk", bytes.Repeat([]byte("x"), 2<<20)}), status: 413},
		{name: "form cut off mid-file", token: good, body: func() []byte {
			_, b := multipartBody(t, form(goodFile))
			return b[:len(b)-60]
		}(), status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctype, body := multipartBody(t, tc.parts)
			if tc.body != nil {
				body = tc.body
			}
			if tc.ctype != "" {
				ctype = tc.ctype
			}
			code, reply := e.post(t, tc.token, ctype, body)
			if code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", code, tc.status, reply)
			}
			var er server.ErrorReply
			if err := json.Unmarshal([]byte(reply), &er); err != nil || er.Error == "" {
				t.Errorf("reply is not a JSON error: %q", reply)
			}
			if strings.Contains(reply, "group/*") {
				t.Errorf("reply names the allowed claim value: %s", reply)
			}
			if got := e.stored(t); len(got) != 0 {
				t.Errorf("files stored after refusal: %v", got)
			}
			if strings.Contains(e.log.String(), good) || (tc.token != "" && strings.Contains(e.log.String(), tc.token)) {
				t.Error("the token was logged")
			}
		})
	}
}

func jsonB64(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var sb strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		k := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(b[i+j])
			}
		}
		for j := 0; j < k+1; j++ {
			sb.WriteByte(enc[(n>>(18-6*j))&63])
		}
	}
	return sb.String()
}

func TestUploadAccepted(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.p.Token("project_path:group/project:ref_type:branch:ref:main")
	ctype, body := multipartBody(t, []part{
		{"version", "", []byte("v3.20")}, {"repo", "", []byte("community")}, {"arch", "", []byte("aarch64")},
		{"file", "a-1.0-r0.apk", fakePackage("a", "1.0-r0", "aarch64")},
		{"file", "b-2-r1.apk", fakePackage("b", "2-r1", "noarch")},
	})
	code, reply := e.post(t, tok, ctype, body)
	if code != 200 {
		t.Fatalf("status %d: %s", code, reply)
	}
	var got server.UploadReply
	if err := json.Unmarshal([]byte(reply), &got); err != nil {
		t.Fatal(err)
	}
	want := server.UploadReply{Repository: "v3.20/community/aarch64", Added: []server.AddedFile{
		{File: "a-1.0-r0.apk", Name: "a", Version: "1.0-r0", Arch: "aarch64", Size: int64(len(fakePackage("a", "1.0-r0", "aarch64")))},
		{File: "b-2-r1.apk", Name: "b", Version: "2-r1", Arch: "noarch", Size: int64(len(fakePackage("b", "2-r1", "noarch")))},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
	wantFiles := []string{"v3.20/community/aarch64/APKINDEX.tar.gz", "v3.20/community/aarch64/a-1.0-r0.apk", "v3.20/community/aarch64/b-2-r1.apk"}
	if diff := cmp.Diff(wantFiles, e.stored(t)); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	// One audit line with who, what and where; never the token.
	log := e.log.String()
	var audit map[string]any
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"upload accepted"`) {
			if audit != nil {
				t.Fatal("two audit lines")
			}
			json.Unmarshal([]byte(line), &audit)
		}
	}
	if audit["subject"] != "project_path:group/project:ref_type:branch:ref:main" || audit["project_path"] != "group/project" || audit["ref"] != "main" {
		t.Errorf("audit line = %v", audit)
	}
	if strings.Contains(log, tok) {
		t.Error("token logged")
	}

	// Defaults: edge/main/x86_64; the same file again is fine, a different one under that name is a conflict.
	ctype, body = multipartBody(t, []part{{"file", "c-1-r0.apk", fakePackage("c", "1-r0", "x86_64")}})
	if code, reply := e.post(t, tok, ctype, body); code != 200 || !strings.Contains(reply, `"edge/main/x86_64"`) {
		t.Fatalf("default target: %d %s", code, reply)
	}
	if code, reply := e.post(t, tok, ctype, body); code != 200 {
		t.Fatalf("same file again: %d %s", code, reply)
	}
	other := append(fakePackage("c", "1-r0", "x86_64"), "different"...)
	ctype, body = multipartBody(t, []part{{"file", "c-1-r0.apk", other}})
	if code, reply := e.post(t, tok, ctype, body); code != 409 {
		t.Fatalf("conflict: %d %s", code, reply)
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir, "edge/main/x86_64/c-1-r0.apk")); !bytes.Equal(b, fakePackage("c", "1-r0", "x86_64")) {
		t.Error("conflicting upload replaced the file")
	}
}

func TestUploadDevMode(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.Verifier = nil })
	ctype, body := multipartBody(t, []part{{"file", "a-1-r0.apk", fakePackage("a", "1-r0", "x86_64")}})
	if code, reply := e.post(t, "", ctype, body); code != 200 {
		t.Fatalf("dev mode upload: %d %s", code, reply)
	}
}

func TestUploadConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.p.Token("s")
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for i := range 50 {
		wg.Go(func() {
			name := fmt.Sprintf("p%02d", i)
			ctype, body := multipartBody(t, []part{{"file", name + "-1-r0.apk", fakePackage(name, "1-r0", "x86_64")}})
			if code, reply := e.post(t, tok, ctype, body); code != 200 {
				errs <- fmt.Sprintf("%s: %d %s", name, code, reply)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	idx, _ := os.ReadFile(filepath.Join(e.dir, "edge/main/x86_64", server.IndexName))
	if n := len(strings.Split(string(idx), "\n")); n != 50 {
		t.Errorf("index lists %d packages, want 50", n)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := e.http.Client().Get(e.http.URL + "/upload")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET /upload = %d", resp.StatusCode)
	}
}

func TestGracefulShutdownFinishesUploads(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.Verifier = nil })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, []net.Listener{l}, nil, 10*time.Second) }()

	ctype, body := multipartBody(t, []part{{"file", "slow-1-r0.apk", fakePackage("slow", "1-r0", "x86_64")}})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, "http://"+l.Addr().String()+"/upload", pr)
	req.Header.Set("Content-Type", ctype)
	req.ContentLength = int64(len(body))
	done := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	pw.Write(body[:len(body)/2])
	// Wait until the upload is in flight, then ask the server to stop.
	for i := 0; i < 100 && !strings.Contains(metricsText(t, e), "apkit_uploads_in_flight 1"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-served:
		t.Fatalf("server stopped with an upload in flight: %v", err)
	default:
	}
	pw.Write(body[len(body)/2:])
	pw.Close()
	if code := <-done; code != 200 {
		t.Fatalf("upload in flight during shutdown: status %d", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "edge/main/x86_64/slow-1-r0.apk")); err != nil {
		t.Fatal(err)
	}
}

func metricsText(t testing.TB, e *env) string {
	resp, err := e.http.Client().Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := e.http.Client().Get(e.http.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, b)
	}
	e.post(t, "", "text/plain", nil) // a 401
	m := metricsText(t, e)
	for _, want := range []string{
		"# TYPE apkit_http_requests_total counter",
		`apkit_http_requests_total{handler="healthz",code="200"} 1`,
		`apkit_uploads_total{code="401"} 1`,
		`apkit_upload_duration_seconds_bucket{le="+Inf"} 1`,
		"apkit_upload_duration_seconds_count 1",
		"apkit_packages_added_total 0",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

// TestUploadOversizedChunked sends an upload with no Content-Length: the cap
// applies while the body streams in.
func TestUploadOversizedChunked(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.Verifier = nil })
	ctype, body := multipartBody(t, []part{{"file", "big-1-r0.apk", bytes.Repeat([]byte("x"), 3<<20)}})
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/upload", io.MultiReader(bytes.NewReader(body)))
	req.Header.Set("Content-Type", ctype)
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if got := e.stored(t); len(got) != 0 {
		t.Errorf("stored: %v", got)
	}
}
