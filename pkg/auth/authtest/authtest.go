package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The key ids the provider publishes.
const (
	RSAKeyID = "test-rsa"
	ECKeyID  = "test-ec"
)

// Audience is the audience of the tokens [Provider.Claims] makes.
const Audience = "https://packages.example.test"

// Provider is a test identity provider. It is safe for concurrent use.
type Provider struct {
	// Server serves the JWKS at /jwks.
	Server *httptest.Server
	// Issuer is the "iss" of its tokens (the server's URL).
	Issuer string
	// JWKSURL is where the key set is served.
	JWKSURL string
	// RSA and EC are the signing keys published in the set.
	RSA *rsa.PrivateKey
	EC  *ecdsa.PrivateKey
	// Now is the time tokens are minted at (time.Now when nil).
	Now func() time.Time

	fetches atomic.Int64
	mu      sync.Mutex
	extra   []jose.JSONWebKey
}

// New starts a provider with fresh keys. Close it when done.
func New() (*Provider, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p := &Provider{RSA: rk, EC: ek}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.KeySet())
	})
	p.Server = httptest.NewServer(mux)
	p.Issuer = p.Server.URL
	p.JWKSURL = p.Server.URL + "/jwks"
	return p, nil
}

// Close stops the server.
func (p *Provider) Close() { p.Server.Close() }

// Fetches returns how many times the key set was served.
func (p *Provider) Fetches() int64 { return p.fetches.Load() }

// AddKey publishes one more key (public part of priv) under kid.
func (p *Provider) AddKey(kid string, priv crypto.Signer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.extra = append(p.extra, jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Use: "sig"})
}

// KeySet returns the published key set.
func (p *Provider) KeySet() jose.JSONWebKeySet {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: p.RSA.Public(), KeyID: RSAKeyID, Algorithm: string(jose.RS256), Use: "sig"},
		{Key: p.EC.Public(), KeyID: ECKeyID, Algorithm: string(jose.ES256), Use: "sig"},
	}}
	set.Keys = append(set.Keys, p.extra...)
	return set
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Claims returns the claims of a valid GitLab-style CI job token for
// subject: iss, aud, sub, iat, nbf, exp (in ten minutes), project_path and
// ref. Edit the map to make bad tokens.
func (p *Provider) Claims(subject string) map[string]any {
	now := p.now()
	return map[string]any{
		"iss":          p.Issuer,
		"aud":          Audience,
		"sub":          subject,
		"iat":          now.Unix(),
		"nbf":          now.Unix(),
		"exp":          now.Add(10 * time.Minute).Unix(),
		"project_path": "group/project",
		"ref":          "main",
		"ref_type":     "branch",
	}
}

// Sign mints a token with the given algorithm, key and key id (kid "" means
// none) over claims.
func Sign(alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	return jwt.Signed(s).Claims(maps.Clone(claims)).Serialize()
}

// RS256 mints a token signed with the provider's RSA key.
func (p *Provider) RS256(claims map[string]any) (string, error) {
	return Sign(jose.RS256, p.RSA, RSAKeyID, claims)
}

// ES256 mints a token signed with the provider's EC key.
func (p *Provider) ES256(claims map[string]any) (string, error) {
	return Sign(jose.ES256, p.EC, ECKeyID, claims)
}

// Token mints a valid RS256 token for subject, for tests that need just one.
func (p *Provider) Token(subject string) (string, error) {
	return p.RS256(p.Claims(subject))
}
