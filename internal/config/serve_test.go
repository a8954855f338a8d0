package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

const reposerveFile = `dir: /srv/repo
tls:
  crt: /etc/ssl/repo.crt
  key: /etc/ssl/repo.key
  redirect:
    port: 80
    protocols: ipv4
  hsts:
    duration: 31536000
    include_subdomains: true
    preload: false
jwt:
  jwks: https://gitlab.example.com/-/jwks
  issuer: https://gitlab.example.com
  audience: https://packages.example.com
  claims:
    project_path: group/*
    ref: [main, "release-*"]
    ref_protected: true
    namespaceID: "42"
`

func TestLoadServe(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags []string
		want  *ServeConfig
		err   string
	}{
		{
			name: "reposerve file",
			file: reposerveFile,
			want: &ServeConfig{
				Dir:       "/srv/repo",
				Listen:    []string{"0.0.0.0:8443"},
				LogFormat: "text",
				TLS: ServeTLS{
					Cert: "/etc/ssl/repo.crt", Key: "/etc/ssl/repo.key",
					Redirect: ServeRedirect{Port: 80, Protocols: "ipv4"},
					HSTS:     ServeHSTS{Duration: 365 * 24 * time.Hour, IncludeSubdomains: true},
				},
				JWT: ServeJWT{
					JWKS: "https://gitlab.example.com/-/jwks", Issuer: "https://gitlab.example.com",
					Audience: []string{"https://packages.example.com"},
					Claims: map[string][]string{
						"project_path": {"group/*"}, "ref": {"main", "release-*"},
						"ref_protected": {"true"}, "namespaceID": {"42"},
					},
				},
			},
		},
		{
			name:  "flags and env override the file",
			file:  reposerveFile,
			env:   map[string]string{"APKIT_DIR": "/env/repo", "APKIT_JWT_ISSUER": "https://env.example.com", "APKIT_MAX_UPLOAD_SIZE": "100MiB", "APKIT_LOG_FORMAT": "json"},
			flags: []string{"--dir", "/flag/repo", "--listen", "127.0.0.1:9000", "--listen", "[::1]:9000"},
			want: &ServeConfig{
				Dir:           "/flag/repo",
				Listen:        []string{"127.0.0.1:9000", "[::1]:9000"},
				LogFormat:     "json",
				MaxUploadSize: 100 << 20,
				TLS: ServeTLS{
					Cert: "/etc/ssl/repo.crt", Key: "/etc/ssl/repo.key",
					Redirect: ServeRedirect{Port: 80, Protocols: "ipv4"},
					HSTS:     ServeHSTS{Duration: 365 * 24 * time.Hour, IncludeSubdomains: true},
				},
				JWT: ServeJWT{
					JWKS: "https://gitlab.example.com/-/jwks", Issuer: "https://env.example.com",
					Audience: []string{"https://packages.example.com"},
					Claims: map[string][]string{
						"project_path": {"group/*"}, "ref": {"main", "release-*"},
						"ref_protected": {"true"}, "namespaceID": {"42"},
					},
				},
			},
		},
		{
			name:  "dev mode defaults to loopback",
			flags: []string{"--dev", "--dir", "/tmp/r"},
			want:  &ServeConfig{Dir: "/tmp/r", Dev: true, Listen: []string{"127.0.0.1:8080"}, LogFormat: "text", TLS: ServeTLS{Redirect: ServeRedirect{Protocols: "both"}}},
		},
		{name: "dev mode refuses other addresses", flags: []string{"--dev", "--dir", "/r", "--listen", "0.0.0.0:8080"}, err: "loopback"},
		{name: "dev mode refuses all interfaces by empty host", flags: []string{"--dev", "--dir", "/r", "--listen", ":8080"}, err: "loopback"},
		{name: "dev mode refuses ipv6 any", flags: []string{"--dev", "--dir", "/r", "--listen", "[::]:8080"}, err: "loopback"},
		{name: "dev mode refuses a loopback address among others", flags: []string{"--dev", "--dir", "/r", "--listen", "127.0.0.1:8080", "--listen", "0.0.0.0:8081"}, err: "loopback"},
		{name: "dev mode refuses a short-form address", flags: []string{"--dev", "--dir", "/r", "--listen", "127.1:8080"}, err: "loopback"},
		{name: "dev mode refuses a host name", flags: []string{"--dev", "--dir", "/r", "--listen", "example.test:8080"}, err: "loopback"},
		{name: "dev mode refuses all interfaces from the environment", flags: []string{"--dir", "/r"}, env: map[string]string{"APKIT_DEV": "true", "APKIT_LISTEN": "0.0.0.0:8080"}, err: "loopback"},
		{name: "no authentication without dev mode", flags: []string{"--dir", "/r"}, err: "jwt.jwks, jwt.issuer, jwt.audience required"},
		{name: "issuer and audience required", file: "dir: /r\njwt:\n  jwks: https://x/jwks\n", err: "jwt.issuer, jwt.audience required"},
		{
			name: "reposerve file with an audience: issuer from claims",
			file: "dir: /r\njwt:\n  jwks: https://gitlab.example.com/oauth/discovery/keys\n  audience: https://packages.example.com\n  claims:\n    iss: https://gitlab.example.com\n    project_path: group/*\n",
			want: &ServeConfig{
				Dir: "/r", Listen: []string{"0.0.0.0:8080"}, LogFormat: "text", TLS: ServeTLS{Redirect: ServeRedirect{Protocols: "both"}},
				JWT: ServeJWT{
					JWKS: "https://gitlab.example.com/oauth/discovery/keys", Issuer: "https://gitlab.example.com", IssuerFromClaims: true,
					Audience: []string{"https://packages.example.com"},
					Claims:   map[string][]string{"iss": {"https://gitlab.example.com"}, "project_path": {"group/*"}},
				},
			},
		},
		{name: "reposerve file: the one line to add", file: "dir: /r\njwt:\n  jwks: https://x/jwks\n  claims:\n    iss: https://x\n", err: "jwt.audience required to check upload tokens (or --dev for an unauthenticated server on loopback); a reposerve file needs this one line more: jwt.audience:"},
		{name: "issuer glob in claims is not an issuer", file: "dir: /r\njwt:\n  jwks: https://x/jwks\n  claims:\n    iss: https://*.example.com\n", err: "jwt.issuer, jwt.audience required"},
		{name: "audience still required with jwt.issuer", file: "dir: /r\njwt:\n  jwks: https://x/jwks\n  issuer: https://x\n  claims:\n    iss: https://x\n", err: "jwt.audience required"},
		{name: "no dir", flags: []string{"--dev"}, err: "no repository directory"},
		{name: "crt without key", file: "dir: /r\ntls:\n  crt: a\n", flags: []string{"--dev"}, err: "crt and key"},
		{name: "bad protocols", file: "dir: /r\ntls:\n  redirect:\n    protocols: ipx\n", flags: []string{"--dev"}, err: "protocols"},
		{name: "bad size", file: "dir: /r\nmax_upload_size: 12 parsecs\n", flags: []string{"--dev"}, err: "max_upload_size"},
		{
			name:  "upload rate and request timeout",
			file:  "dir: /r\nupload_min_rate: 64k/s\nrequest_timeout: 30s\n",
			flags: []string{"--dev"},
			want:  &ServeConfig{Dir: "/r", Dev: true, Listen: []string{"127.0.0.1:8080"}, LogFormat: "text", UploadMinRate: 64 << 10, RequestTimeout: 30 * time.Second, TLS: ServeTLS{Redirect: ServeRedirect{Protocols: "both"}}},
		},
		{
			name:  "no minimum upload rate",
			flags: []string{"--dev", "--dir", "/r"},
			env:   map[string]string{"APKIT_UPLOAD_MIN_RATE": "none"},
			want:  &ServeConfig{Dir: "/r", Dev: true, Listen: []string{"127.0.0.1:8080"}, LogFormat: "text", UploadMinRate: -1, TLS: ServeTLS{Redirect: ServeRedirect{Protocols: "both"}}},
		},
		{name: "bad rate", file: "dir: /r\nupload_min_rate: fast\n", flags: []string{"--dev"}, err: "upload_min_rate"},
		{name: "bad request timeout", file: "dir: /r\nrequest_timeout: soon\n", flags: []string{"--dev"}, err: "request_timeout"},
		{name: "empty claim", file: "dir: /r\njwt:\n  claims:\n    ref: []\n", flags: []string{"--dev"}, err: "no allowed value"},
		{name: "acme needs cache", file: "dir: /r\ntls:\n  acme:\n    domains: [a.example.com]\n", flags: []string{"--dev"}, err: "cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "apkit.yaml")
			if tc.file != "" {
				if err := os.WriteFile(file, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			fs.StringSlice("listen", nil, "")
			fs.String("dir", "", "")
			fs.Bool("dev", false, "")
			if err := fs.Parse(tc.flags); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"APKIT_CONFIG": file, "HOME": dir}
			for k, v := range tc.env {
				env[k] = v
			}
			got, err := LoadServe(ServeOptions{Flags: fs, Getenv: func(k string) string { return env[k] }})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.File = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "1024": 1024, "1k": 1024, "512M": 512 << 20, "1GiB": 1 << 30, "100MB": 100e6, "3 G": 3 << 30} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "-1", "1T", "99999999999999999999"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

func TestHSTSHeader(t *testing.T) {
	h := ServeHSTS{Duration: time.Hour, IncludeSubdomains: true, Preload: true}
	if got := h.Header(); got != "max-age=3600; includeSubDomains; preload" {
		t.Errorf("Header() = %q", got)
	}
	if got := (ServeHSTS{}).Header(); got != "" {
		t.Errorf("zero Header() = %q", got)
	}
}
