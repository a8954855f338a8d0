package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Defaults for the zero values of [Options].
const (
	DefaultLeeway             = 30 * time.Second
	DefaultRefreshInterval    = time.Hour
	DefaultMinRefreshInterval = 10 * time.Second
	// MaxTokenSize bounds the size of a token accepted for parsing.
	MaxTokenSize = 16 << 10
	// maxJWKSSize bounds the size of a key set document.
	maxJWKSSize = 1 << 20
	// minRSABits is the smallest RSA modulus accepted in a key set.
	minRSABits = 2048
)

// The algorithms a token may be signed with. Everything else, "none" and
// the HMAC family in particular, is refused before any key is looked at.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

var (
	// ErrUnauthorized is matched (errors.Is) by every error that means the
	// token itself is missing, malformed, badly signed, expired, not yet
	// valid, or issued by or for someone else.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden is matched by errors that mean a valid token lacks a
	// required claim value (see [ClaimError]).
	ErrForbidden = errors.New("forbidden")
	// ErrKeysUnavailable is matched when no key set could be fetched, so no
	// token can be checked at all.
	ErrKeysUnavailable = errors.New("key set unavailable")
)

// TokenError says why a token was refused. It matches [ErrUnauthorized].
type TokenError struct {
	Reason string // why the token was refused
	Err    error  // the underlying cause, or nil
}

// Error returns "token: " and the reason, followed by the cause when there is one.
func (e *TokenError) Error() string {
	if e.Err != nil {
		return "token: " + e.Reason + ": " + e.Err.Error()
	}
	return "token: " + e.Reason
}

// Unwrap returns the cause, or nil.
func (e *TokenError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnauthorized) true.
func (e *TokenError) Is(target error) bool { return target == ErrUnauthorized }

func tokenErr(reason string, err error) error { return &TokenError{Reason: reason, Err: err} }

// Options configure a [Verifier].
type Options struct {
	// JWKSURL is where the identity provider publishes its signing keys.
	JWKSURL string
	// Issuer is the required "iss" claim. It must not be empty.
	Issuer string
	// Audience lists accepted "aud" values; a token must name at least one.
	// It must not be empty.
	Audience []string
	// Claims maps claim names to the values they must have.
	Claims map[string]Rule
	// Leeway is the clock skew allowed on exp, nbf and iat (0 means
	// [DefaultLeeway]; negative means none).
	Leeway time.Duration
	// RefreshInterval is how old the cached key set may get before it is
	// fetched again (0 means [DefaultRefreshInterval]).
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches caused by
	// tokens whose key id is unknown (0 means [DefaultMinRefreshInterval]).
	MinRefreshInterval time.Duration
	// HTTPClient fetches the key set; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Identity is what a verified token says about its bearer.
type Identity struct {
	Subject string // the sub claim
	Issuer  string // the iss claim
	// Claims holds every claim of the token as decoded JSON.
	Claims map[string]any
}

// Claim returns the named claim as text ("" when it is absent or not a scalar).
func (id *Identity) Claim(name string) string {
	s, _ := claimString(id.Claims[name])
	return s
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	opts Options

	mu        sync.Mutex // guards the fields below
	keys      map[string]jose.JSONWebKey
	fetched   time.Time // when keys were last fetched successfully
	attempted time.Time // when a fetch was last attempted
	lastErr   error     // the outcome of that attempt

	fetchMu sync.Mutex // serialises fetches
}

// New returns a Verifier for opts. It does not fetch the key set yet; call
// [Verifier.Refresh] to fail early when it is unreachable.
func New(opts Options) (*Verifier, error) {
	if opts.JWKSURL == "" {
		return nil, errors.New("auth: no JWKS URL")
	}
	if opts.Issuer == "" {
		return nil, errors.New("auth: no issuer")
	}
	if len(opts.Audience) == 0 {
		return nil, errors.New("auth: no audience")
	}
	for name, r := range opts.Claims {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("auth: claim %s: %w", name, err)
		}
	}
	if opts.Leeway == 0 {
		opts.Leeway = DefaultLeeway
	} else if opts.Leeway < 0 {
		opts.Leeway = 0
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{opts: opts}, nil
}

// Verify checks token and returns who it identifies. Errors match
// [ErrUnauthorized], [ErrForbidden] or [ErrKeysUnavailable].
func (v *Verifier) Verify(ctx context.Context, token string) (*Identity, error) {
	if token == "" {
		return nil, tokenErr("missing", nil)
	}
	if len(token) > MaxTokenSize {
		return nil, tokenErr("too large", nil)
	}
	tok, err := jwt.ParseSigned(token, allowedAlgs)
	if err != nil {
		return nil, tokenErr("malformed or algorithm not allowed", err)
	}
	if len(tok.Headers) != 1 {
		return nil, tokenErr("not exactly one signature", nil)
	}
	h := tok.Headers[0]
	alg := jose.SignatureAlgorithm(h.Algorithm)

	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if err := keyFits(key, alg); err != nil {
		return nil, tokenErr("key does not fit", err)
	}

	var std jwt.Claims
	all := map[string]any{}
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return nil, tokenErr("bad signature or claims", err)
	}
	if std.Expiry == nil {
		return nil, tokenErr("no expiry (exp)", nil)
	}
	exp := jwt.Expected{
		Issuer:      v.opts.Issuer,
		AnyAudience: jwt.Audience(v.opts.Audience),
		Time:        v.opts.Now(),
	}
	if err := std.ValidateWithLeeway(exp, v.opts.Leeway); err != nil {
		return nil, tokenErr(claimReason(err), nil)
	}
	if err := checkRules(v.opts.Claims, all); err != nil {
		return nil, err
	}
	return &Identity{Subject: std.Subject, Issuer: std.Issuer, Claims: all}, nil
}

func claimReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return "expired"
	case errors.Is(err, jwt.ErrNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return "issued in the future"
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrInvalidAudience):
		return "wrong audience"
	}
	return "invalid claims"
}

// keyFits checks that the key's type suits the token's algorithm, so that
// an RSA key is never used for an ES256 token or the other way round.
func keyFits(k jose.JSONWebKey, alg jose.SignatureAlgorithm) error {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return fmt.Errorf("key is for %s, token uses %s", k.Algorithm, alg)
	}
	switch alg {
	case jose.RS256:
		if _, ok := k.Key.(*rsa.PublicKey); ok {
			return nil
		}
	case jose.ES256:
		if pk, ok := k.Key.(*ecdsa.PublicKey); ok && pk.Curve == elliptic.P256() {
			return nil
		}
	}
	return fmt.Errorf("%s token with a %T key", alg, k.Key)
}

// key returns the key with the given id, fetching the key set when it has
// never been fetched, is older than the refresh interval, or (at most once
// per MinRefreshInterval) does not hold kid.
func (v *Verifier) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	now := v.opts.Now()
	v.mu.Lock()
	stale := v.keys == nil || now.Sub(v.fetched) >= v.opts.RefreshInterval
	k, found := lookup(v.keys, kid)
	v.mu.Unlock()
	if found && !stale {
		return k, nil
	}
	if err := v.refresh(ctx, !found); err != nil && !found {
		v.mu.Lock()
		have := v.keys != nil
		v.mu.Unlock()
		if !have {
			return jose.JSONWebKey{}, err
		}
	}
	v.mu.Lock()
	k, found = lookup(v.keys, kid)
	v.mu.Unlock()
	if !found {
		if kid == "" {
			return jose.JSONWebKey{}, tokenErr("no key id (kid) and the key set has more than one key", nil)
		}
		return jose.JSONWebKey{}, tokenErr("unknown key id (kid)", nil)
	}
	return k, nil
}

// lookup finds kid in keys; a token without kid is accepted only when the
// set has exactly one key.
func lookup(keys map[string]jose.JSONWebKey, kid string) (jose.JSONWebKey, bool) {
	if kid == "" {
		if len(keys) == 1 {
			for _, k := range keys {
				return k, true
			}
		}
		return jose.JSONWebKey{}, false
	}
	k, ok := keys[kid]
	return k, ok
}

// refresh fetches the key set unless a fetch was attempted less than
// MinRefreshInterval ago, so that a stream of tokens with made-up key ids
// (limited is set then) or an unreachable identity provider cannot turn into
// a stream of requests to it.
func (v *Verifier) refresh(ctx context.Context, limited bool) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	now := v.opts.Now()
	v.mu.Lock()
	recent := !v.attempted.IsZero() && now.Sub(v.attempted) < v.opts.MinRefreshInterval
	fresh := v.keys != nil && now.Sub(v.fetched) < v.opts.RefreshInterval
	lastErr := v.lastErr
	v.mu.Unlock()
	if recent {
		return lastErr
	}
	if !limited && fresh {
		return nil // another caller refreshed while this one waited
	}
	return v.fetch(ctx)
}

// Refresh fetches the key set now, whatever the age of the cached one.
func (v *Verifier) Refresh(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	return v.fetch(ctx)
}

// Run refreshes the key set every RefreshInterval until ctx is done. Fetch
// errors keep the previous keys; Run returns ctx's error.
func (v *Verifier) Run(ctx context.Context) error {
	t := time.NewTicker(v.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			_ = v.Refresh(ctx)
		}
	}
}

// fetch downloads and parses the key set; the caller holds fetchMu.
func (v *Verifier) fetch(ctx context.Context) error {
	v.mu.Lock()
	v.attempted = v.opts.Now()
	v.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	keys, err := fetchKeys(ctx, v.opts.HTTPClient, v.opts.JWKSURL)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
		v.mu.Lock()
		v.lastErr = err
		v.mu.Unlock()
		return err
	}
	v.mu.Lock()
	v.lastErr = nil
	v.keys = keys
	v.fetched = v.opts.Now()
	v.mu.Unlock()
	return nil
}

// fetchKeys fetches a JWKS document and keeps the keys usable for
// signature checks: RSA keys of at least 2048 bits and P-256 EC keys,
// public only, meant for signing. Other entries are skipped, not fatal.
func fetchKeys(ctx context.Context, c *http.Client, url string) (map[string]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("fetch %s: key set larger than %d bytes", url, maxJWKSSize)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("key set %s: %w", url, err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if !usable(k) {
			continue
		}
		if _, dup := keys[k.KeyID]; dup {
			// Two keys under one id: trust neither.
			keys[k.KeyID] = jose.JSONWebKey{}
			continue
		}
		keys[k.KeyID] = k
	}
	for id, k := range keys {
		if k.Key == nil {
			delete(keys, id)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key set %s: no usable signing key", url)
	}
	return keys, nil
}

func usable(k jose.JSONWebKey) bool {
	if k.Use != "" && k.Use != "sig" {
		return false
	}
	if !k.IsPublic() {
		return false
	}
	switch pk := k.Key.(type) {
	case *rsa.PublicKey:
		return pk.N.BitLen() >= minRSABits && (k.Algorithm == "" || strings.EqualFold(k.Algorithm, string(jose.RS256)))
	case *ecdsa.PublicKey:
		return pk.Curve == elliptic.P256() && (k.Algorithm == "" || k.Algorithm == string(jose.ES256))
	}
	return false
}
