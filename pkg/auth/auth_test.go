package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/apkit-dev/apkit/pkg/auth"
	"github.com/apkit-dev/apkit/pkg/auth/authtest"
)

var (
	provOnce sync.Once
	prov     *authtest.Provider
	provErr  error
)

// provider returns one identity provider shared by the tests of this file
// (RSA key generation is slow); tests that count fetches start their own.
func provider(t testing.TB) *authtest.Provider {
	t.Helper()
	provOnce.Do(func() { prov, provErr = authtest.New() })
	if provErr != nil {
		t.Fatal(provErr)
	}
	return prov
}

func newVerifier(t *testing.T, p *authtest.Provider, mod func(*auth.Options)) *auth.Verifier {
	t.Helper()
	opts := auth.Options{
		JWKSURL:  p.JWKSURL,
		Issuer:   p.Issuer,
		Audience: []string{authtest.Audience},
		Claims: map[string]auth.Rule{
			"project_path": {"group/*", "other/exact"},
			"ref":          {"main", "release-*"},
		},
		HTTPClient: p.Server.Client(),
	}
	if mod != nil {
		mod(&opts)
	}
	v, err := auth.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerify(t *testing.T) {
	p := provider(t)
	v := newVerifier(t, p, nil)
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := p.Claims("project_path:group/project:ref_type:branch:ref:main")
		if mod != nil {
			mod(c)
		}
		return c
	}
	rs := func(c map[string]any) string {
		tok, err := p.RS256(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	pubDER, err := x509.MarshalPKIXPublicKey(p.RSA.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(alg jose.SignatureAlgorithm, key any, kid string, c map[string]any) string {
		tok, err := authtest.Sign(alg, key, kid, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	payload, _ := json.Marshal(claims(nil))

	tests := []struct {
		name  string
		token string
		want  error // nil, auth.ErrUnauthorized or auth.ErrForbidden
	}{
		{"rs256", rs(claims(nil)), nil},
		{"es256", func() string { tok, _ := p.ES256(claims(nil)); return tok }(), nil},
		{"list value", rs(claims(func(c map[string]any) { c["project_path"] = "other/exact" })), nil},
		{"glob value", rs(claims(func(c map[string]any) { c["ref"] = "release-1.2" })), nil},
		{"aud list", rs(claims(func(c map[string]any) { c["aud"] = []string{"x", authtest.Audience} })), nil},
		{"expired within leeway", rs(claims(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() })), nil},

		{"missing", "", auth.ErrUnauthorized},
		{"garbage", "not a token", auth.ErrUnauthorized},
		{"three dots", "a.b.c", auth.ErrUnauthorized},
		{"huge", strings.Repeat("a", auth.MaxTokenSize+1), auth.ErrUnauthorized},
		{"expired", rs(claims(func(c map[string]any) { c["exp"] = now.Add(-5 * time.Minute).Unix() })), auth.ErrUnauthorized},
		{"no exp", rs(claims(func(c map[string]any) { delete(c, "exp") })), auth.ErrUnauthorized},
		{"not yet valid", rs(claims(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })), auth.ErrUnauthorized},
		{"issued in the future", rs(claims(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() })), auth.ErrUnauthorized},
		{"wrong issuer", rs(claims(func(c map[string]any) { c["iss"] = "https://evil.example.test" })), auth.ErrUnauthorized},
		{"no issuer", rs(claims(func(c map[string]any) { delete(c, "iss") })), auth.ErrUnauthorized},
		{"wrong audience", rs(claims(func(c map[string]any) { c["aud"] = "https://other.example.test" })), auth.ErrUnauthorized},
		{"no audience", rs(claims(func(c map[string]any) { delete(c, "aud") })), auth.ErrUnauthorized},
		{"alg none", b64(`{"alg":"none","typ":"JWT","kid":"test-rsa"}`) + "." + b64(string(payload)) + ".", auth.ErrUnauthorized},
		{"alg none no kid", b64(`{"alg":"none"}`) + "." + b64(string(payload)) + ".", auth.ErrUnauthorized},
		{"hs256 with public key pem", sign(jose.HS256, pubPEM, authtest.RSAKeyID, claims(nil)), auth.ErrUnauthorized},
		{"hs256 with public key der", sign(jose.HS256, pubDER, authtest.RSAKeyID, claims(nil)), auth.ErrUnauthorized},
		{"hs512", sign(jose.HS512, pubPEM, "", claims(nil)), auth.ErrUnauthorized},
		{"ps256", sign(jose.PS256, p.RSA, authtest.RSAKeyID, claims(nil)), auth.ErrUnauthorized},
		{"rs512", sign(jose.RS512, p.RSA, authtest.RSAKeyID, claims(nil)), auth.ErrUnauthorized},
		{"es256 under the rsa kid", sign(jose.ES256, p.EC, authtest.RSAKeyID, claims(nil)), auth.ErrUnauthorized},
		{"rs256 under the ec kid", sign(jose.RS256, p.RSA, authtest.ECKeyID, claims(nil)), auth.ErrUnauthorized},
		{"other rsa key", sign(jose.RS256, otherRSA, authtest.RSAKeyID, claims(nil)), auth.ErrUnauthorized},
		{"other ec key", sign(jose.ES256, otherEC, authtest.ECKeyID, claims(nil)), auth.ErrUnauthorized},
		{"unknown kid", sign(jose.RS256, otherRSA, "nobody", claims(nil)), auth.ErrUnauthorized},
		{"no kid with two keys", sign(jose.RS256, p.RSA, "", claims(nil)), auth.ErrUnauthorized},
		{"tampered payload", func() string {
			parts := strings.Split(rs(claims(nil)), ".")
			parts[1] = b64(strings.Replace(string(payload), "group/project", "group/evil", 1))
			return strings.Join(parts, ".")
		}(), auth.ErrUnauthorized},

		{"claim mismatch", rs(claims(func(c map[string]any) { c["project_path"] = "evil/project" })), auth.ErrForbidden},
		{"glob does not cross slash", rs(claims(func(c map[string]any) { c["project_path"] = "group/sub/project" })), auth.ErrForbidden},
		{"claim missing", rs(claims(func(c map[string]any) { delete(c, "ref") })), auth.ErrForbidden},
		{"claim not a string", rs(claims(func(c map[string]any) { c["ref"] = []string{"main"} })), auth.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tc.token)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want == nil:
				if id.Claim("project_path") == "" || id.Subject == "" {
					t.Errorf("identity lacks claims: %+v", id)
				}
			case !errors.Is(err, tc.want):
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			case tc.want == auth.ErrForbidden:
				for _, leak := range []string{"group/*", "other/exact", "release-*"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error %q names an allowed value", err)
					}
				}
			}
		})
	}
}

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	p, err := authtest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	p.Now = clock
	v := newVerifier(t, p, func(o *auth.Options) {
		o.Now = clock
		o.MinRefreshInterval = time.Minute
		o.RefreshInterval = time.Hour
	})
	ctx := context.Background()
	good, _ := p.Token("s")
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	if got := p.Fetches(); got != 1 {
		t.Fatalf("fetches after first token = %d, want 1", got)
	}

	// A flood of unknown key ids costs at most one fetch per interval.
	rogue, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad, _ := authtest.Sign(jose.RS256, rogue, "rotated", p.Claims("s"))
	for range 100 {
		if _, err := v.Verify(ctx, bad); !errors.Is(err, auth.ErrUnauthorized) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if got := p.Fetches(); got != 1 {
		t.Fatalf("fetches after 100 unknown kids within the interval = %d, want 1", got)
	}

	// The provider rotates: the new key is picked up once the interval has passed.
	p.AddKey("rotated", rogue)
	if _, err := v.Verify(ctx, bad); err == nil {
		t.Fatal("new key accepted before the rate limit allows a fetch")
	}
	advance(2 * time.Minute)
	if _, err := v.Verify(ctx, bad); err != nil {
		t.Fatalf("rotated key after refresh: %v", err)
	}
	if got := p.Fetches(); got != 2 {
		t.Fatalf("fetches after rotation = %d, want 2", got)
	}

	// On schedule: an old cache is fetched again even for known keys.
	advance(2 * time.Hour)
	good, _ = p.Token("s")
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	if got := p.Fetches(); got != 3 {
		t.Fatalf("fetches after the refresh interval = %d, want 3", got)
	}
}

func TestKeySetPolicy(t *testing.T) {
	p := provider(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	// A key set with a weak RSA key, an HMAC secret, a P-384 key and an
	// RSA key marked for encryption, all under ids tokens name.
	set := map[string]any{"keys": []any{
		jose.JSONWebKey{Key: weak.Public(), KeyID: "weak", Use: "sig"},
		jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac"},
		jose.JSONWebKey{Key: p384.Public(), KeyID: "p384"},
		jose.JSONWebKey{Key: p.RSA.Public(), KeyID: "enc", Use: "enc"},
		jose.JSONWebKey{Key: p.RSA.Public(), KeyID: "good", Use: "sig"},
		map[string]any{"kty": "future", "kid": "odd"},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	v := newVerifier(t, p, func(o *auth.Options) { o.JWKSURL = srv.URL; o.Claims = nil })
	c := p.Claims("s")
	tests := []struct {
		name string
		alg  jose.SignatureAlgorithm
		key  any
		kid  string
		ok   bool
	}{
		{"good", jose.RS256, p.RSA, "good", true},
		{"weak rsa", jose.RS256, weak, "weak", false},
		{"hmac secret", jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "hmac", false},
		{"p384", jose.ES384, p384, "p384", false},
		{"encryption key", jose.RS256, p.RSA, "enc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := authtest.Sign(tc.alg, tc.key, tc.kid, c)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), tok)
			if tc.ok != (err == nil) {
				t.Fatalf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestKeysUnavailable(t *testing.T) {
	p := provider(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	v := newVerifier(t, p, func(o *auth.Options) { o.JWKSURL = srv.URL })
	tok, _ := p.Token("s")
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, auth.ErrKeysUnavailable) {
		t.Fatalf("Verify = %v, want ErrKeysUnavailable", err)
	}
}

func TestNewRequiresIssuerAndAudience(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts auth.Options
	}{
		{"no url", auth.Options{Issuer: "i", Audience: []string{"a"}}},
		{"no issuer", auth.Options{JWKSURL: "http://127.0.0.1/", Audience: []string{"a"}}},
		{"no audience", auth.Options{JWKSURL: "http://127.0.0.1/", Issuer: "i"}},
		{"bad glob", auth.Options{JWKSURL: "http://127.0.0.1/", Issuer: "i", Audience: []string{"a"}, Claims: map[string]auth.Rule{"ref": {"[a"}}}},
		{"empty rule", auth.Options{JWKSURL: "http://127.0.0.1/", Issuer: "i", Audience: []string{"a"}, Claims: map[string]auth.Rule{"ref": {}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := auth.New(tc.opts); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestRuleMatch(t *testing.T) {
	tests := []struct {
		rule auth.Rule
		v    string
		want bool
	}{
		{auth.Rule{"main"}, "main", true},
		{auth.Rule{"main"}, "mainx", false},
		{auth.Rule{"main", "dev"}, "dev", true},
		{auth.Rule{"v*"}, "v1.2", true},
		{auth.Rule{"group/*"}, "group/a", true},
		{auth.Rule{"group/*"}, "group/a/b", false},
		{auth.Rule{"group/*/*"}, "group/a/b", true},
		{auth.Rule{"true"}, "true", true},
		{nil, "", false},
	}
	for _, tc := range tests {
		if got := tc.rule.Match(tc.v); got != tc.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tc.rule, tc.v, got, tc.want)
		}
	}
}
