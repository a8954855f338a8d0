package cli

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/apkit-dev/apkit/internal/term"
)

// A push in GitLab CI logs in to $CI_REGISTRY with the job token, and the
// digest it prints is the one the registry serves.
func TestImagePushGitLab(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "gitlab-ci-token" || p != "job-token" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "hello"), []byte("hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"job token", "job-token", true},
		{"wrong token", "nope", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"CI_REGISTRY": host, "CI_JOB_TOKEN": tc.token, "SOURCE_DATE_EPOCH": "0"}
			ts := term.Test()
			app := NewApp(ts.Streams)
			app.Getenv = func(k string) string { return env[k] }
			err := runImage(t.Context(), app, &imageOptions{roots: []string{root}, push: host + "/group/app:1"})
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(strings.ToLower(err.Error()), "unauthorized") {
					t.Fatalf("a wrong token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			digest := strings.TrimSpace(ts.OutBuf.String())
			if !strings.Contains(ts.ErrBuf.String(), "pushed "+host+"/group/app:1@"+digest) {
				t.Errorf("stderr %q does not name the push of %s", ts.ErrBuf.String(), digest)
			}
			req, _ := http.NewRequest(http.MethodHead, srv.URL+"/v2/group/app/manifests/1", nil)
			req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
			req.SetBasicAuth("gitlab-ci-token", "job-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Docker-Content-Digest"); got != digest {
				t.Errorf("registry serves %q, apkit printed %q", got, digest)
			}
			// The SBOM is attached: the image's one referrer, under the
			// fallback tag (this registry has no referrers API).
			req, _ = http.NewRequest(http.MethodGet, srv.URL+"/v2/group/app/manifests/"+strings.Replace(digest, ":", "-", 1), nil)
			req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
			req.SetBasicAuth("gitlab-ci-token", "job-token")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `"artifactType":"application/spdx+json"`) {
				t.Errorf("referrers of %s: %s", digest, body)
			}
		})
	}
}
