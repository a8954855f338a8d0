package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/upload"
)

func TestUploadArgs(t *testing.T) {
	tests := []struct {
		args []string
		want uploadOptions
	}{
		{[]string{"--url", "https://r.test"}, uploadOptions{url: "https://r.test", tokenEnv: "APKIT_TOKEN", attempts: 5, paths: []string{}}},
		{
			[]string{"--url", "http://127.0.0.1:8080", "--version", "v3.20", "--repo", "testing", "--token-env", "ID_TOKEN", "--dry-run", "--json", "--attempts", "2", "a.apk", "dir"},
			uploadOptions{url: "http://127.0.0.1:8080", version: "v3.20", repo: "testing", tokenEnv: "ID_TOKEN", dryRun: true, json: true, attempts: 2, paths: []string{"a.apk", "dir"}},
		},
		{[]string{"--url", "u", "--token-file", "/run/secrets/token"}, uploadOptions{url: "u", tokenFile: "/run/secrets/token", tokenEnv: "APKIT_TOKEN", attempts: 5, paths: []string{}}},
	}
	for _, tc := range tests {
		var got *uploadOptions
		cmd := uploadCmd(NewApp(term.Test().Streams), func(_ context.Context, _ *App, o *uploadOptions) error {
			got = o
			return nil
		})
		cmd.SetArgs(tc.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if diff := cmp.Diff(tc.want, *got, cmp.AllowUnexported(uploadOptions{})); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.args, diff)
		}
	}
}

func TestRunUploadOutput(t *testing.T) {
	dir := t.TempDir()
	pkg := buildTestPackage(t, filepath.Join(dir, "main", "x86_64"), nil, "hello", "1.0-r0", "x86_64", 10)
	tests := []struct {
		name      string
		status    int
		reply     string
		json      bool
		wantOut   string
		wantErr   string
		wantCalls int
	}{
		{"text", 200, `{"repository":"edge/main/x86_64","added":[{"file":"hello-1.0-r0.apk"}]}`, false, "edge/main/x86_64/hello-1.0-r0.apk\n", "", 1},
		{"json", 200, `{"repository":"edge/main/x86_64","added":[{"file":"hello-1.0-r0.apk"}]}`, true, `"added":[`, "", 1},
		{"refusal shows the server's message", 409, `{"error":"hello-1.0-r0.apk: a different file exists under that name"}`, false, "", "409 Conflict: hello-1.0-r0.apk: a different file exists under that name", 1},
		{"server errors are retried", 502, `{"error":"bad gateway"}`, false, "", "after 2 attempts", 2},
		{"json reports a refusal", 409, `{"error":"hello-1.0-r0.apk: a different file exists under that name"}`, true, `"error":"upload main/x86_64: server: 409 Conflict: hello-1.0-r0.apk: a different file exists under that name"`, "409 Conflict", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if r.Header.Get("Authorization") != "Bearer tok" {
					w.WriteHeader(401)
					return
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.reply)
			}))
			defer srv.Close()
			ts := term.Test()
			app := NewApp(ts.Streams)
			app.Getenv = func(k string) string { return map[string]string{"APKIT_TOKEN": "tok"}[k] }
			err := runUpload(context.Background(), app, &uploadOptions{url: srv.URL, version: "edge", tokenEnv: "APKIT_TOKEN", attempts: 2, json: tc.json, paths: []string{pkg}})
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(ts.OutBuf.String(), tc.wantOut) || (tc.wantOut == "" && ts.OutBuf.Len() > 0 && !tc.json) {
				t.Errorf("stdout = %q, want %q", ts.OutBuf.String(), tc.wantOut)
			}
			if calls != tc.wantCalls {
				t.Errorf("%d requests, want %d", calls, tc.wantCalls)
			}
		})
	}
}

// When the token does not come from where the job said (--token-env names
// an empty variable), a warning says so, and a 401 or 403 names the
// token's source: the usual cause is a job token with another audience.
func TestUploadTokenSourceShown(t *testing.T) {
	dir := t.TempDir()
	pkg := buildTestPackage(t, filepath.Join(dir, "main", "x86_64"), nil, "hello", "1.0-r0", "x86_64", 10)
	tests := []struct {
		name       string
		env        map[string]string
		tokenEnv   string
		status     int
		wantStderr []string
		wantErr    string
	}{
		{"named variable empty", map[string]string{"CI_JOB_JWT_V2": "tok"}, "APKIT_ID_TOKEN", 401,
			[]string{"warning: --token-env APKIT_ID_TOKEN: $APKIT_ID_TOKEN is empty; using the token in $CI_JOB_JWT_V2"},
			"401 Unauthorized: invalid token: wrong audience (token from $CI_JOB_JWT_V2)"},
		{"named variable set", map[string]string{"APKIT_ID_TOKEN": "tok"}, "APKIT_ID_TOKEN", 403,
			nil, "403 Forbidden: invalid token: wrong audience (token from $APKIT_ID_TOKEN)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, `{"error":"invalid token: wrong audience"}`)
			}))
			defer srv.Close()
			ts := term.Test()
			app := NewApp(ts.Streams)
			app.Getenv = func(k string) string { return tc.env[k] }
			err := runUpload(context.Background(), app, &uploadOptions{url: srv.URL, version: "edge", tokenEnv: tc.tokenEnv, attempts: 1, paths: []string{pkg}})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(ts.ErrBuf.String(), w) {
					t.Errorf("stderr = %q, want %q", ts.ErrBuf.String(), w)
				}
			}
			if tc.wantStderr == nil && strings.Contains(ts.ErrBuf.String(), "warning") {
				t.Errorf("stderr = %q, want no warning", ts.ErrBuf.String())
			}
		})
	}
}

// A token sent over plain http to another machine can be read on the way:
// upload warns. Loopback (a local test server) is quiet.
func TestUploadClearTextWarning(t *testing.T) {
	dir := t.TempDir()
	pkg := buildTestPackage(t, filepath.Join(dir, "main", "x86_64"), nil, "hello", "1.0-r0", "x86_64", 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"repository":"edge/main/x86_64","added":[{"file":"hello-1.0-r0.apk"}]}`)
	}))
	defer srv.Close()
	tests := []struct {
		name, url, token string
		warn             bool
	}{
		{"http to another host", "http://packages.example.test", "tok", true},
		{"http to loopback", srv.URL, "tok", false},
		{"no token", "http://packages.example.test", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := term.Test()
			app := NewApp(ts.Streams)
			app.Getenv = func(k string) string { return map[string]string{"APKIT_TOKEN": tc.token}[k] }
			app.HTTPClient = func() (*http.Client, error) {
				// Every host name reaches the local test server.
				tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
				}}
				return &http.Client{Transport: tr}, nil
			}
			if err := runUpload(context.Background(), app, &uploadOptions{url: tc.url, version: "edge", tokenEnv: "APKIT_TOKEN", attempts: 1, paths: []string{pkg}}); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(ts.ErrBuf.String(), "clear text")
			if got != tc.warn {
				t.Errorf("clear-text warning %v, want %v; stderr:\n%s", got, tc.warn, ts.ErrBuf.String())
			}
		})
	}
}

// Without animation (CI logs, pipes), a large upload still shows progress:
// one line per quarter, no carriage returns.
func TestUploadProgressLines(t *testing.T) {
	ts := term.Test()
	p := newUploadProgress(ts.Streams)
	const size = 8 << 20
	p.Start(upload.Group{Repo: "main", Arch: "x86_64"}, 1, size)
	for n := int64(0); n <= size; n += 256 << 10 {
		p.Sent(n)
	}
	got := ts.ErrBuf.String()
	if strings.Contains(got, "\r") {
		t.Errorf("carriage return in %q", got)
	}
	for _, want := range []string{"2.0 MiB / 8.0 MiB (25%)", "4.0 MiB / 8.0 MiB (50%)", "6.0 MiB / 8.0 MiB (75%)", "8.0 MiB / 8.0 MiB (100%)"} {
		if strings.Count(got, want) != 1 {
			t.Errorf("stderr has %q %d times, want once:\n%s", want, strings.Count(got, want), got)
		}
	}
	// Small uploads stay quiet.
	ts = term.Test()
	p = newUploadProgress(ts.Streams)
	p.Start(upload.Group{Repo: "main", Arch: "x86_64"}, 1, 1<<20)
	p.Sent(1 << 20)
	if strings.Contains(ts.ErrBuf.String(), "%") {
		t.Errorf("progress for a small upload: %q", ts.ErrBuf.String())
	}
}

// An untrusted server certificate fails at once with the way to trust a
// private certificate authority.
func TestUploadUntrustedCertificateHint(t *testing.T) {
	dir := t.TempDir()
	pkg := buildTestPackage(t, filepath.Join(dir, "main", "x86_64"), nil, "hello", "1.0-r0", "x86_64", 10)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	ts := term.Test()
	app := NewApp(ts.Streams)
	app.Getenv = func(string) string { return "" }
	app.HTTPClient = func() (*http.Client, error) { return &http.Client{}, nil }
	err := runUpload(context.Background(), app, &uploadOptions{url: srv.URL, version: "edge", tokenEnv: "APKIT_TOKEN", attempts: 3, paths: []string{pkg}})
	if err == nil || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
		t.Errorf("error = %v, want the SSL_CERT_FILE hint", err)
	}
	if strings.Contains(ts.ErrBuf.String(), "retrying") {
		t.Errorf("retried:\n%s", ts.ErrBuf.String())
	}
}

// Without --version on a system that is not Alpine, upload fails on one
// line with exit code 1: nothing was wrong with the command line.
func TestUploadNoSystemVersion(t *testing.T) {
	osRelease := filepath.Join(t.TempDir(), "os-release")
	if err := os.WriteFile(osRelease, []byte("ID=debian\nVERSION_ID=12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := term.Test()
	app := NewApp(ts.Streams)
	err := runUpload(context.Background(), app, &uploadOptions{url: "http://127.0.0.1:1", attempts: 1, osRelease: osRelease, paths: []string{t.TempDir()}})
	if code := reportError(context.Background(), ts.Streams, newRootCmd(app), err); code != ExitFailure {
		t.Errorf("exit code %d, want %d", code, ExitFailure)
	}
	got := ts.ErrBuf.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "--version") || strings.Contains(got, "Usage:") {
		t.Errorf("stderr = %q, want one line that names --version", got)
	}
}
