package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/apkit-dev/apkit/pkg/auth"
	"github.com/apkit-dev/apkit/pkg/auth/authtest"
)

// TestHostileKeySetServer: a JWKS endpoint that sends an endless body or
// never answers cannot hang or exhaust the verifier.
func TestHostileKeySetServer(t *testing.T) {
	p := provider(t)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[{"kty":"RSA","n":"`))
			chunk := []byte(strings.Repeat("A", 64<<10))
			for i := 0; i < 1<<14 && r.Context().Err() == nil; i++ { // up to 1 GiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}},
		{"many keys", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[`))
			for i := 0; i < 200000; i++ {
				w.Write([]byte(`{"kty":"oct","k":"AA"},`))
			}
			w.Write([]byte(`{}]}`))
		}},
		{"not json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }},
		{"stalls", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			v := newVerifier(t, p, func(o *auth.Options) {
				o.JWKSURL = srv.URL
				o.HTTPClient = &http.Client{Timeout: time.Second}
			})
			tok, _ := p.Token("s")
			// The client's timeout must end it: a hang would run into this
			// context's minute instead and fail with a different error.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := v.Verify(ctx, tok)
			if !errors.Is(err, auth.ErrKeysUnavailable) || ctx.Err() != nil {
				t.Fatalf("Verify = %v, want ErrKeysUnavailable from the client's timeout", err)
			}
			if strings.Contains(err.Error(), tok) {
				t.Error("the error holds the token")
			}
		})
	}
}

// TestTokenHeaderTricks: keys or key locations carried in the token's own
// header (jwk, jku, x5u, x5c), critical extensions and odd key ids are
// never trusted.
func TestTokenHeaderTricks(t *testing.T) {
	p := provider(t)
	v := newVerifier(t, p, nil)
	c := p.Claims("project_path:group/project:ref_type:branch:ref:main")
	evil, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key any, headers map[jose.HeaderKey]any) string {
		opts := (&jose.SignerOptions{}).WithType("JWT")
		for k, v := range headers {
			opts = opts.WithHeader(k, v)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(c)
		obj, err := s.Sign(b)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := obj.CompactSerialize()
		return tok
	}
	evilJWK := jose.JSONWebKey{Key: evil.Public(), KeyID: authtest.RSAKeyID}
	tests := []struct {
		name  string
		token string
	}{
		{"embedded jwk", sign(evil, map[jose.HeaderKey]any{"kid": authtest.RSAKeyID, "jwk": evilJWK})},
		{"embedded jwk without kid", sign(evil, map[jose.HeaderKey]any{"jwk": evilJWK})},
		{"jku to another key set", sign(evil, map[jose.HeaderKey]any{"kid": authtest.RSAKeyID, "jku": "http://127.0.0.1:1/jwks"})},
		{"x5u", sign(evil, map[jose.HeaderKey]any{"kid": authtest.RSAKeyID, "x5u": "http://127.0.0.1:1/cert"})},
		{"kid path", sign(evil, map[jose.HeaderKey]any{"kid": "../../../dev/null"})},
		{"kid sql", sign(evil, map[jose.HeaderKey]any{"kid": "' OR '1'='1"})},
		{"kid huge", sign(evil, map[jose.HeaderKey]any{"kid": strings.Repeat("k", 8<<10)})},
		{"kid not a string", sign(evil, map[jose.HeaderKey]any{"kid": 42})},
		{"crit extension", sign(p.RSA, map[jose.HeaderKey]any{"kid": authtest.RSAKeyID, "crit": []string{"exp"}, "exp": 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if !errors.Is(err, auth.ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			}
		})
	}
}
