package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/auth"
	"github.com/apkit-dev/apkit/pkg/auth/authtest"
	"github.com/apkit-dev/apkit/pkg/server"
)

// A refused upload leaves one warning that says why, so an operator can
// answer "why was my upload refused?" from the log alone; the token is
// never in it.
func TestRefusalLogged(t *testing.T) {
	e := newEnv(t, nil)
	claims := e.p.Claims("project_path:evil/x:ref_type:branch:ref:main")
	claims["project_path"] = "evil/x"
	forbidden, err := e.p.RS256(claims)
	if err != nil {
		t.Fatal(err)
	}
	good, err := e.p.Token("project_path:group/project:ref_type:branch:ref:main")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token string
		parts       []part
		code        int
		reason      string
		subject     string // in the line when the token was checked
		project     string // its project_path
	}{
		// A claim rule's refusal names whose token it was.
		{"forbidden", forbidden, []part{{"file", "a-1-r0.apk", fakePackage("a", "1-r0", "x86_64")}}, 403, `claim "project_path"`, "project_path:evil/x:ref_type:branch:ref:main", "evil/x"},
		{"no file", good, []part{{"version", "", []byte("edge")}}, 400, "no file in the form", "project_path:group/project:ref_type:branch:ref:main", "group/project"},
		{"bad name", good, []part{{"repo", "", []byte("a/b")}, {"file", "a-1-r0.apk", fakePackage("a", "1-r0", "x86_64")}}, 400, "not a plain name", "project_path:group/project:ref_type:branch:ref:main", "group/project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.log.String())
			ctype, body := multipartBody(t, tt.parts)
			if code, reply := e.post(t, tt.token, ctype, body); code != tt.code {
				t.Fatalf("status %d, want %d: %s", code, tt.code, reply)
			}
			var refused []map[string]any
			for _, line := range strings.Split(e.log.String()[before:], "\n") {
				if strings.Contains(line, `"upload refused"`) {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Fatal(err)
					}
					refused = append(refused, m)
				}
			}
			if len(refused) != 1 {
				t.Fatalf("%d \"upload refused\" lines, want 1; log:\n%s", len(refused), e.log.String()[before:])
			}
			m := refused[0]
			if m["level"] != "WARN" || m["status"] != float64(tt.code) || !strings.Contains(m["reason"].(string), tt.reason) {
				t.Errorf("refusal line = %v, want status %d and a reason with %q", m, tt.code, tt.reason)
			}
			if got, _ := m["subject"].(string); got != tt.subject {
				t.Errorf("subject = %q, want %q", got, tt.subject)
			}
			if got, _ := m["project_path"].(string); got != tt.project {
				t.Errorf("project_path = %q, want %q", got, tt.project)
			}
			if _, ok := m["ref"]; !ok {
				t.Errorf("no ref in %v", m)
			}
			if strings.Contains(e.log.String(), tt.token) {
				t.Error("token logged")
			}
		})
	}
}

// While the identity provider's key set cannot be fetched, uploads get a
// 503 with Retry-After, which apkit upload honours.
func TestKeysUnavailableRetryAfter(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/jwks"
	dead.Close()
	e := newEnv(t, func(o *server.Options) {
		v, err := auth.New(auth.Options{JWKSURL: deadURL, Issuer: "https://issuer.test", Audience: []string{authtest.Audience}})
		if err != nil {
			t.Fatal(err)
		}
		o.Verifier = v
	})
	tok, err := e.p.Token("project_path:group/project:ref_type:branch:ref:main")
	if err != nil {
		t.Fatal(err)
	}
	ctype, body := multipartBody(t, []part{{"file", "a-1-r0.apk", fakePackage("a", "1-r0", "x86_64")}})
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/upload", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
