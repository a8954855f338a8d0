package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/crypto/acme/autocert"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/server"
)

type serveOptions struct {
	listen []string
	dir    string
	dev    bool
	grace  time.Duration

	flags *pflag.FlagSet
	// listeners, when set (by tests), are used instead of opening listen.
	listeners []net.Listener
	// ready, when set (by tests), is called with the server's addresses once it listens.
	ready func(addrs []string)
}

const serveLong = `Serve a package repository tree <dir>/<version>/<repo>/<arch>/ to apk
clients and take package uploads on POST /upload.

Uploads carry a JSON Web Token (a GitLab CI id_token) as a bearer token. It
is checked against the identity provider's JWKS (jwt.jwks), its issuer
(jwt.issuer, or as reposerve files give it, jwt.claims.iss), audience
(jwt.audience) and required claims (jwt.claims, each an exact value, a
glob such as "group/*", or a list of them). Each uploaded package must
parse, its checksums must hold, it must be signed by a key in upload_keys
when that is set, and its arch and file name must match.
Accepted packages are added to the repository and its index is re-signed
with signing_key, atomically: readers never see a half-written index.

The configuration is a YAML file (--config) with the keys of reposerve
files (dir, tls.crt, tls.key, tls.redirect, tls.hsts, jwt.jwks, jwt.claims)
and apkit's own (jwt.issuer, jwt.audience, signing_key, upload_keys,
listen, dev, max_upload_size, upload_min_rate, request_timeout,
log_format, tls.acme.domains, tls.acme.cache, tls.acme.email).
request_timeout (default 1m) bounds reading a request, except the body of
an upload whose token was accepted; that body must arrive at no less than
upload_min_rate on average after its first 10 seconds (default 16k per
second, "none" for no minimum).
APKIT_<KEY> variables (APKIT_DIR, APKIT_JWT_JWKS, ...) and flags override it.

Also served: /healthz, and Prometheus metrics at /metrics. SIGINT or
SIGTERM stops the server after uploads in flight have finished. SIGHUP
reloads the configuration: upload_keys, signing_key, the jwt settings and
the tls.crt/tls.key files. A configuration that does not load is logged
and refused, and the server goes on with the one it has.

--dev turns authentication off, for trying things out on one machine: the
server then only listens on loopback addresses.`

func newServeCmd(app *App) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a package repository and take authenticated uploads",
		Long:  serveLong,
		Example: `  apkit serve --config /etc/apkit/serve.yaml
  apkit serve --dev --dir ./repo --listen 127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.flags = cmd.Flags()
			return runServe(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.listen, "listen", nil, "`address` to listen on, host:port (repeatable; default 0.0.0.0:8080, 0.0.0.0:8443 with TLS)")
	f.StringVar(&opts.dir, "dir", "", "repository root `directory`")
	f.BoolVar(&opts.dev, "dev", false, "no authentication, loopback addresses only (for trying things out)")
	f.DurationVar(&opts.grace, "shutdown-timeout", time.Minute, "how long to wait for uploads in flight when stopping")
	return cmd
}

func runServe(ctx context.Context, app *App, opts *serveOptions) error {
	// SIGHUP reloads the configuration; without this the signal would
	// end the process. One that comes during start-up waits its turn.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	load := func() (*config.ServeConfig, error) {
		return config.LoadServe(config.ServeOptions{
			File:   app.global.configFile,
			Flags:  opts.flags,
			Getenv: app.Getenv,
		})
	}
	cfg, err := load()
	if err != nil {
		// A bad configuration is not a bad command line: no usage text.
		return err
	}
	// Every line the server prints, startup warnings included, is a
	// record of this logger.
	log := newServerLogger(app, cfg.LogFormat)

	if !cfg.TLS.Enabled() {
		var unused []string
		if cfg.TLS.Redirect.Port != 0 && cfg.TLS.Redirect.Protocols != "none" {
			unused = append(unused, "tls.redirect")
		}
		if cfg.TLS.HSTS.Duration > 0 {
			unused = append(unused, "tls.hsts")
		}
		if len(unused) > 0 {
			log.Warn(strings.Join(unused, ", ") + ": no effect without tls.crt and tls.key or tls.acme: the server speaks plain http")
		}
	}
	if cfg.Dev {
		log.Warn("DEV MODE: uploads are NOT authenticated; anyone who can reach " + strings.Join(cfg.Listen, " or ") + " can add packages")
	}

	backend, err := newServeBackend(ctx, app, cfg, log, nil)
	if err != nil {
		return err
	}
	live := &liveBackend{}
	live.cur.Store(backend)
	var verifier server.TokenVerifier
	if !cfg.Dev {
		verifier = live
	}
	srv, err := server.New(server.Options{
		Dir:            cfg.Dir,
		Verifier:       verifier,
		Validator:      live,
		Repository:     live,
		MaxUploadSize:  cfg.MaxUploadSize,
		MinUploadRate:  cfg.UploadMinRate,
		RequestTimeout: cfg.RequestTimeout,
		HSTS:           cfg.TLS.HSTS.Header(),
		Logger:         log,
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	tlsConfig, acme, certs, err := serveTLS(cfg, log)
	if err != nil {
		return err
	}
	listeners := opts.listeners
	if listeners == nil {
		for _, addr := range cfg.Listen {
			l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
			if err != nil {
				closeAll(listeners)
				return fmt.Errorf("listen: %w", err)
			}
			listeners = append(listeners, l)
		}
	}
	if cfg.TLS.Enabled() {
		stop, err := startRedirect(ctx, cfg, acme, log)
		if err != nil {
			closeAll(listeners)
			return err
		}
		defer stop()
	}

	rl := &serveReloader{app: app, load: load, cfg: cfg, log: log, live: live, certs: certs}
	served := make(chan struct{})
	defer close(served)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-served:
				return
			case <-hup:
				rl.reload(ctx)
			}
		}
	}()

	if opts.ready != nil {
		addrs := make([]string, len(listeners))
		for i, l := range listeners {
			addrs[i] = l.Addr().String()
		}
		opts.ready(addrs)
	}
	return srv.Serve(ctx, listeners, tlsConfig, opts.grace)
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// newServerLogger logs to the error stream, as text or JSON; -v adds
// debug lines (every request), -q keeps warnings and errors only.
func newServerLogger(app *App, format string) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case app.IO.Verbose():
		level = slog.LevelDebug
	case app.IO.Quiet():
		level = slog.LevelWarn
	}
	var w io.Writer = app.IO.ErrOut
	hopts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

// serveTLS returns the TLS configuration (nil for plain HTTP) and, with
// ACME, the certificate manager, or with certificate files, what loads
// them again when they change or on SIGHUP.
func serveTLS(cfg *config.ServeConfig, log *slog.Logger) (*tls.Config, *autocert.Manager, *tlsFiles, error) {
	switch {
	case len(cfg.TLS.ACME.Domains) > 0:
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(cfg.TLS.ACME.Cache),
			HostPolicy: autocert.HostWhitelist(cfg.TLS.ACME.Domains...),
			Email:      cfg.TLS.ACME.Email,
		}
		tc := m.TLSConfig()
		tc.MinVersion = tls.VersionTLS12
		return tc, m, nil, nil
	case cfg.TLS.Cert != "":
		files, err := loadTLSFiles(cfg.TLS.Cert, cfg.TLS.Key, log)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("tls: %w", err)
		}
		return &tls.Config{GetCertificate: files.getCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}, nil, files, nil
	}
	return nil, nil, nil, nil
}

// startRedirect starts the plain-HTTP listener that redirects to HTTPS
// (and answers ACME HTTP-01 challenges), as tls.redirect asks.
func startRedirect(ctx context.Context, cfg *config.ServeConfig, acme *autocert.Manager, log *slog.Logger) (func(), error) {
	r := cfg.TLS.Redirect
	if r.Port == 0 || r.Protocols == "none" {
		return func() {}, nil
	}
	httpsPort := "443"
	if _, p, err := net.SplitHostPort(cfg.Listen[0]); err == nil {
		httpsPort = p
	}
	var h http.Handler = server.RedirectHandler(httpsPort)
	if acme != nil {
		h = acme.HTTPHandler(h)
	}
	nets := redirectAddrs(cfg.Listen, strconv.Itoa(r.Port), r.Protocols)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	for _, n := range nets {
		l, err := (&net.ListenConfig{}).Listen(ctx, n[0], n[1])
		if err != nil {
			return nil, fmt.Errorf("redirect listener: %w", err)
		}
		log.Info("redirecting to https", "addr", l.Addr().String())
		go func() {
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("redirect listener", "error", err.Error())
			}
		}()
	}
	return func() { hs.Close() }, nil
}

// redirectAddrs returns the networks and addresses of the redirect
// listener: port on the hosts of the listen addresses, of the families
// protocols allows, or on all interfaces when the server listens on all.
func redirectAddrs(listen []string, port, protocols string) [][2]string {
	network := map[string]string{"ipv4": "tcp4", "ipv6": "tcp6"}[protocols]
	if network == "" {
		network = "tcp"
	}
	var out [][2]string
	seen := map[string]bool{}
	for _, a := range listen {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		ip := net.ParseIP(host)
		if host == "" || (ip != nil && ip.IsUnspecified()) {
			// All interfaces: one listener, as the protocols say.
			switch protocols {
			case "ipv4":
				return [][2]string{{network, "0.0.0.0:" + port}}
			case "ipv6":
				return [][2]string{{network, "[::]:" + port}}
			}
			return [][2]string{{network, ":" + port}}
		}
		if ip != nil && ((protocols == "ipv4" && ip.To4() == nil) || (protocols == "ipv6" && ip.To4() != nil)) {
			continue
		}
		addr := net.JoinHostPort(host, port)
		if !seen[addr] {
			seen[addr] = true
			out = append(out, [2]string{network, addr})
		}
	}
	return out
}
