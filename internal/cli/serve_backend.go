package cli

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/auth"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// serveBackend is what a reload may replace: how tokens are checked (nil
// in dev mode), how uploads are checked, and where they are stored.
type serveBackend struct {
	jwt        config.ServeJWT
	verifier   *auth.Verifier
	stopJWKS   context.CancelFunc // ends the verifier's key refreshes
	uploadKeys int                // trusted upload keys (0: any signer)
	validator  server.Validator
	repository server.Repository
}

// liveBackend is the server's TokenVerifier, Validator and Repository: each
// call goes to the backend in force when it is made, so that a reload
// takes effect for the next request without dropping any.
type liveBackend struct {
	cur atomic.Pointer[serveBackend]
}

// Verify implements server.TokenVerifier.
func (l *liveBackend) Verify(ctx context.Context, token string) (*auth.Identity, error) {
	return l.cur.Load().verifier.Verify(ctx, token)
}

// Validate implements server.Validator.
func (l *liveBackend) Validate(ctx context.Context, path string) (*server.Package, error) {
	return l.cur.Load().validator.Validate(ctx, path)
}

// Add implements server.Repository.
func (l *liveBackend) Add(ctx context.Context, dir string, files []server.File) error {
	return l.cur.Load().repository.Add(ctx, dir, files)
}

// Reconcile implements server.Reconciler with the repository in force, so
// that the server's start reconciles the tree.
func (l *liveBackend) Reconcile(ctx context.Context, dir string) (*repo.Reconciled, error) {
	rc, ok := l.cur.Load().repository.(server.Reconciler)
	if !ok {
		return &repo.Reconciled{}, nil
	}
	return rc.Reconcile(ctx, dir)
}

// newServeBackend returns what checks tokens (pkg/auth), what checks
// uploads (pkg/apk, against upload_keys when set) and what stores them
// (pkg/repo, signing indexes with signing_key, else the general
// configuration's signing key). Warnings about a weak setup go to log.
//
// prev is the backend in force when reloading (nil at start): its token
// verifier is kept when the jwt settings did not change, and a new key set
// that cannot be fetched is an error, so that a reload never leaves the
// server unable to check tokens.
func newServeBackend(ctx context.Context, app *App, cfg *config.ServeConfig, log *slog.Logger, prev *serveBackend) (*serveBackend, error) {
	b := &serveBackend{jwt: cfg.JWT}
	var keys *sign.Keyring
	if cfg.UploadKeys != "" {
		if _, err := os.Stat(cfg.UploadKeys); err != nil {
			return nil, fmt.Errorf("upload_keys: %w", err)
		}
		kr, err := sign.LoadKeyring(cfg.UploadKeys)
		if err != nil {
			return nil, fmt.Errorf("upload_keys: %w", err)
		}
		if kr.Len() == 0 {
			return nil, fmt.Errorf("upload_keys: no public key in %s", cfg.UploadKeys)
		}
		keys = kr
		b.uploadKeys = kr.Len()
	} else {
		log.Warn("upload_keys is not set: packages are checked for integrity but may be signed by anyone")
	}
	keyPath := cfg.SigningKey
	if keyPath == "" {
		// The general configuration, read here without app.Config, whose
		// warnings would bypass the server's log.
		if c, err := config.Load(config.Options{File: app.global.configFile, Getenv: app.Getenv, AbuildConf: abuildConfReader}); err == nil {
			keyPath = c.SigningKey
		}
	}
	var key *sign.PrivateKey
	if keyPath != "" {
		k, err := sign.LoadPrivateKey(keyPath, func() ([]byte, error) {
			if p := app.Getenv("APKIT_KEY_PASSPHRASE"); p != "" {
				return []byte(p), nil
			}
			return nil, fmt.Errorf("%s is encrypted: set APKIT_KEY_PASSPHRASE", keyPath)
		})
		if err != nil {
			return nil, fmt.Errorf("signing_key: %w", err)
		}
		key = k
	} else if !cfg.Dev {
		// A configuration failure, not a bad command line: no usage text.
		return nil, fmt.Errorf("config: signing_key: no key to sign indexes with (set signing_key in the config file; apkit keygen --dir DIR makes one)")
	} else {
		log.Warn("no signing_key: indexes are written unsigned (apk needs --allow-untrusted)")
	}
	b.validator = server.PackageValidator{Keys: keys}
	b.repository = &server.Repositories{Options: repo.Options{
		Key:            key,
		Keys:           keys,
		AllowUntrusted: keys == nil,
	}}
	if cfg.Dev {
		return b, nil
	}

	if prev != nil && prev.verifier != nil && reflect.DeepEqual(prev.jwt, cfg.JWT) {
		b.verifier, b.stopJWKS = prev.verifier, prev.stopJWKS
		return b, nil
	}
	rules := map[string]auth.Rule{}
	for k, v := range cfg.JWT.Claims {
		rules[k] = auth.Rule(v)
	}
	if len(rules) == 0 {
		log.Warn(fmt.Sprintf("jwt.claims is empty: any token from %s for %v may upload", cfg.JWT.Issuer, cfg.JWT.Audience))
	}
	if u, err := url.Parse(cfg.JWT.JWKS); err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && config.IsLoopback(u.Hostname()))) {
		log.Warn(fmt.Sprintf("jwt.jwks %q is not an https URL: keys fetched over it can be forged in transit", cfg.JWT.JWKS))
	}
	hc, err := app.HTTPClient()
	if err != nil {
		return nil, err
	}
	v, err := auth.New(auth.Options{
		JWKSURL:    cfg.JWT.JWKS,
		Issuer:     cfg.JWT.Issuer,
		Audience:   cfg.JWT.Audience,
		Claims:     rules,
		HTTPClient: hc,
	})
	if err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	if err := v.Refresh(ctx); err != nil {
		if prev != nil {
			return nil, fmt.Errorf("jwt.jwks: %w", err)
		}
		log.Warn("token keys not fetched yet; will retry", "jwks", cfg.JWT.JWKS, "error", err.Error())
	}
	vctx, stop := context.WithCancel(ctx)
	go v.Run(vctx)
	b.verifier, b.stopJWKS = v, stop
	return b, nil
}

// serveReloader applies a new configuration on SIGHUP.
type serveReloader struct {
	app   *App
	load  func() (*config.ServeConfig, error)
	log   *slog.Logger
	live  *liveBackend
	certs *tlsFiles // nil without certificate files

	mu  sync.Mutex // one reload at a time
	cfg *config.ServeConfig
}

// reload reads the configuration again and puts its upload keys, signing
// key, jwt settings and certificate files in force. A configuration that
// does not load is logged and refused: the server goes on with the one it
// has. Settings that only a restart can change are named in a warning.
func (r *serveReloader) reload(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log.Info("reloading the configuration (SIGHUP)")
	refuse := func(err error) {
		r.log.Error("reload refused; still serving with the previous configuration", "error", err.Error())
	}
	cfg, err := r.load()
	if err != nil {
		refuse(err)
		return
	}
	if cfg.Dev != r.cfg.Dev {
		refuse(fmt.Errorf("config: dev: turning authentication on or off needs a restart"))
		return
	}
	var commitCert func()
	if r.certs != nil && cfg.TLS.Cert != "" {
		if commitCert, err = r.certs.prepare(cfg.TLS.Cert, cfg.TLS.Key); err != nil {
			refuse(fmt.Errorf("tls: %w", err))
			return
		}
	}
	old := r.live.cur.Load()
	b, err := newServeBackend(ctx, r.app, cfg, r.log, old)
	if err != nil {
		refuse(err)
		return
	}
	if commitCert != nil {
		commitCert()
	}
	r.live.cur.Store(b)
	if old.verifier != b.verifier && old.stopJWKS != nil {
		old.stopJWKS()
	}
	if fixed := restartOnly(r.cfg, cfg); len(fixed) > 0 {
		r.log.Warn("changed settings take effect only after a restart", "keys", fixed)
	}
	r.cfg = cfg
	attrs := []any{"upload_keys", b.uploadKeys}
	if b.verifier != nil {
		attrs = append(attrs, "jwt_reloaded", old.verifier != b.verifier)
	}
	if commitCert != nil {
		attrs = append(attrs, "crt", cfg.TLS.Cert)
	}
	r.log.Info("configuration reloaded", attrs...)
}

// restartOnly names the settings that differ between a and b and that a
// reload does not apply.
func restartOnly(a, b *config.ServeConfig) []string {
	var out []string
	add := func(changed bool, key string) {
		if changed {
			out = append(out, key)
		}
	}
	add(a.Dir != b.Dir, "dir")
	add(!slices.Equal(a.Listen, b.Listen), "listen")
	add(a.LogFormat != b.LogFormat, "log_format")
	add(a.MaxUploadSize != b.MaxUploadSize, "max_upload_size")
	add(a.UploadMinRate != b.UploadMinRate, "upload_min_rate")
	add(a.RequestTimeout != b.RequestTimeout, "request_timeout")
	add((a.TLS.Cert == "") != (b.TLS.Cert == ""), "tls.crt")
	add(a.TLS.Redirect != b.TLS.Redirect, "tls.redirect")
	add(a.TLS.HSTS != b.TLS.HSTS, "tls.hsts")
	add(!reflect.DeepEqual(a.TLS.ACME, b.TLS.ACME), "tls.acme")
	return out
}

// packageArch reads a package's architecture from its .PKGINFO.
func packageArch(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	p, err := apk.Read(bufio.NewReader(f), &apk.ReadOptions{ControlOnly: true})
	if err != nil {
		return "", err
	}
	if p.Info == nil || p.Info.Arch == "" {
		return "", fmt.Errorf("no arch in .PKGINFO")
	}
	return p.Info.Arch, nil
}
