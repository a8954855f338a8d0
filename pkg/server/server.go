package server

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
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apkit-dev/apkit/pkg/auth"
	"github.com/apkit-dev/apkit/pkg/repo"
)

// DefaultMaxConcurrentUploads is the number of uploads read at once when
// Options.MaxConcurrentUploads is 0.
const DefaultMaxConcurrentUploads = 16

// DefaultMaxUploadSize bounds an upload request when Options.MaxUploadSize is 0.
const DefaultMaxUploadSize = 512 << 20

// DefaultUploadIdleTimeout, DefaultUploadTimeout and DefaultSendTimeout
// apply when the Options fields of the same names are 0.
const (
	DefaultUploadIdleTimeout = time.Minute
	DefaultUploadTimeout     = time.Hour
	DefaultSendTimeout       = time.Minute
	DefaultRequestTimeout    = time.Minute
	DefaultUploadRateGrace   = 10 * time.Second
)

// DefaultMinUploadRate is the average rate, in bytes per second, an
// upload's body must keep when Options.MinUploadRate is 0.
const DefaultMinUploadRate = 16 << 10

// headerTimeout bounds reading a request's headers (or RequestTimeout,
// when that is shorter).
const headerTimeout = 10 * time.Second

// stagingDir is the directory under the served root where uploads are
// written before they are checked; dot names are never served.
const stagingDir = ".upload"

// TokenVerifier checks a bearer token. *auth.Verifier implements it; its
// errors must match auth.ErrUnauthorized, auth.ErrForbidden or
// auth.ErrKeysUnavailable.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*auth.Identity, error)
}

// Package is what a [Validator] learned about an uploaded file.
type Package struct {
	Name    string `json:"name"`    // package name
	Version string `json:"version"` // package version
	Arch    string `json:"arch"`    // package architecture
}

// FileName is the file name the package must have: NAME-VERSION.apk.
func (p *Package) FileName() string { return p.Name + "-" + p.Version + ".apk" }

// Validator checks an uploaded file: that it is a package whose checksums
// hold and, when the server has trusted upload keys, whose signature is by
// one of them. Any error means the file is refused with 422.
type Validator interface {
	Validate(ctx context.Context, path string) (*Package, error)
}

// File is an uploaded file that passed validation, waiting to be added.
type File struct {
	// Path is the temporary file, on the same file system as the repository.
	Path string
	// Name is its name in the repository.
	Name string
	// Package is what the [Validator] learned about the file.
	Package *Package
}

// Repository adds files to the repository directory dir
// (<root>/<version>/<repo>/<arch>), all or nothing, and updates its signed
// index before it returns. Add must be safe for concurrent use; an error
// matching [ErrConflict] means a different file exists under one of the
// names. Add may move or remove the temporary files.
type Repository interface {
	Add(ctx context.Context, dir string, files []File) error
}

// Reconciler is implemented by a [Repository] that can bring a
// repository directory back in line with its index when the server starts,
// after a crash or a kill: temporary files removed, package files the index
// lacks indexed or moved aside. [Repositories] implements it.
type Reconciler interface {
	Reconcile(ctx context.Context, dir string) (*repo.Reconciled, error)
}

// ErrConflict is matched by a [Repository] error when a different file
// already exists under an uploaded file's name.
var ErrConflict = errors.New("a different file exists under that name")

// Options configure a [Server].
type Options struct {
	// Dir is the root of the served tree.
	Dir string
	// Verifier checks upload tokens. Nil means no authentication (dev mode).
	Verifier TokenVerifier
	// Validator and Repository check and store uploads; both are required
	// for uploads to be accepted.
	Validator  Validator
	Repository Repository
	// MaxUploadSize bounds an upload request's body (0 means
	// DefaultMaxUploadSize).
	MaxUploadSize int64
	// MaxConcurrentUploads bounds the uploads whose bodies are read at once
	// (0 means DefaultMaxConcurrentUploads); more wait their turn. With
	// MaxUploadSize it bounds the disk space staged uploads may take.
	MaxConcurrentUploads int
	// UploadIdleTimeout is how long an upload's body may send nothing
	// before the upload fails with 408 (0 means
	// DefaultUploadIdleTimeout), so a stalled client cannot hold an upload
	// slot; UploadTimeout bounds the whole body (0 means
	// DefaultUploadTimeout).
	UploadIdleTimeout, UploadTimeout time.Duration
	// MinUploadRate is the average rate, in bytes per second, at which an
	// upload's body must arrive once UploadRateGrace has passed since it
	// started, or the upload fails with 408: so that clients that trickle
	// a byte now and then cannot hold the upload slots (0 means
	// DefaultMinUploadRate; negative means no minimum). UploadRateGrace 0
	// means DefaultUploadRateGrace.
	MinUploadRate   int64
	UploadRateGrace time.Duration
	// SendTimeout is how long one write of a reply may block on a client
	// that does not read (0 means DefaultSendTimeout).
	SendTimeout time.Duration
	// RequestTimeout bounds reading a whole request, headers and body,
	// from its first byte (0 means DefaultRequestTimeout). Only the body
	// of an upload whose token was accepted may take longer, as the
	// upload timeouts allow; so a client without a valid token cannot
	// hold a connection longer than this.
	RequestTimeout time.Duration
	// HSTS is the Strict-Transport-Security header value sent on TLS
	// connections ("" means none).
	HSTS string
	// Logger receives request and audit logs; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Server serves a repository tree and takes uploads. It is safe for
// concurrent use.
type Server struct {
	opts    Options
	root    *os.Root
	realDir string // Dir, absolute, with its symbolic links resolved
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux

	inflight sync.WaitGroup
	slots    chan struct{} // one per upload being read
	staging  string        // this server's directory for uploads being read
	// stagingLock holds the lock that tells other servers sharing the
	// tree that staging is in use.
	stagingLock *os.File
}

// New returns a server for opts. It creates Dir when missing, and its own
// upload staging directory under Dir/.upload, where it also clears what
// servers that stopped long ago left behind.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("server: no directory")
	}
	if opts.MaxUploadSize <= 0 {
		opts.MaxUploadSize = DefaultMaxUploadSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UploadIdleTimeout <= 0 {
		opts.UploadIdleTimeout = DefaultUploadIdleTimeout
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = DefaultSendTimeout
	}
	if opts.UploadTimeout <= 0 {
		opts.UploadTimeout = DefaultUploadTimeout
	}
	if opts.MinUploadRate == 0 {
		opts.MinUploadRate = DefaultMinUploadRate
	}
	if opts.MinUploadRate < 0 {
		opts.MinUploadRate = 0
	}
	if opts.UploadRateGrace <= 0 {
		opts.UploadRateGrace = DefaultUploadRateGrace
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxConcurrentUploads <= 0 {
		opts.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	staging, lock, err := newStaging(filepath.Join(opts.Dir, stagingDir), log)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	root, err := os.OpenRoot(opts.Dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	realDir, err := filepath.EvalSymlinks(opts.Dir)
	if err == nil {
		realDir, err = filepath.Abs(realDir)
	}
	if err != nil {
		root.Close()
		lock.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{opts: opts, root: root, realDir: realDir, staging: staging, stagingLock: lock, log: log, metrics: newMetrics(), slots: make(chan struct{}, opts.MaxConcurrentUploads)}
	mux := http.NewServeMux()
	mux.Handle("POST /upload", s.instrument("upload", http.HandlerFunc(s.handleUpload)))
	mux.Handle("/upload", s.instrument("upload", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		replyError(w, http.StatusMethodNotAllowed, "use POST")
	})))
	mux.Handle("GET /healthz", s.instrument("healthz", http.HandlerFunc(s.handleHealth)))
	mux.Handle("GET /metrics", s.instrument("metrics", http.HandlerFunc(s.handleMetrics)))
	mux.Handle("/", s.instrument("files", http.HandlerFunc(s.handleFiles)))
	s.mux = mux
	return s, nil
}

// Close removes the server's staging directory and releases its handle on
// its directory.
func (s *Server) Close() error {
	os.RemoveAll(s.staging)
	os.Remove(s.staging + ".lock")
	s.stagingLock.Close()
	return s.root.Close()
}

// staleStaging is how old a staging directory without a lock file must be
// before it is taken for abandoned.
const staleStaging = 24 * time.Hour

// newStaging makes this server's staging directory under parent, srv-X,
// with its lock file srv-X.lock held for as long as the server runs, and
// removes the directories of servers that stopped, even by a crash: those
// whose lock file nobody holds. Several servers may share one tree.
func newStaging(parent string, log *slog.Logger) (string, *os.File, error) {
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", nil, err
	}
	ents, err := os.ReadDir(parent)
	if err != nil {
		return "", nil, err
	}
	locks := map[string]bool{}
	for _, e := range ents {
		if dir, ok := strings.CutSuffix(e.Name(), ".lock"); ok {
			locks[dir] = true
		}
	}
	for _, e := range ents {
		name := e.Name()
		full := filepath.Join(parent, name)
		if dir, ok := strings.CutSuffix(name, ".lock"); ok {
			if !locksWork {
				continue
			}
			f, err := tryLock(full)
			if err != nil {
				continue // a running server's
			}
			n := 0
			if files, err := os.ReadDir(filepath.Join(parent, dir)); err == nil {
				n = len(files)
			}
			if err := os.RemoveAll(filepath.Join(parent, dir)); err != nil {
				log.Error("remove partial uploads", "error", err.Error())
			} else if n > 0 {
				log.Info("removed partial uploads of a server that stopped", "dir", filepath.Join(stagingDir, dir), "files", n)
			}
			os.Remove(full)
			f.Close()
			continue
		}
		if locks[name] {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleStaging {
			os.RemoveAll(full)
			log.Info("removed an abandoned upload staging directory", "dir", filepath.Join(stagingDir, name))
		}
	}
	// The lock first, taken under a name no other server looks at, then
	// the directory: a server starting meanwhile never sees a lock file or
	// a directory of this one without the lock held.
	lf, err := os.CreateTemp(parent, "srv-*.new")
	if err != nil {
		return "", nil, err
	}
	lf.Close()
	lock, err := tryLock(lf.Name())
	if err != nil {
		os.Remove(lf.Name())
		return "", nil, err
	}
	dir := strings.TrimSuffix(lf.Name(), ".new")
	if err := os.Rename(lf.Name(), dir+".lock"); err != nil {
		os.Remove(lf.Name())
		lock.Close()
		return "", nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		os.Remove(dir + ".lock")
		lock.Close()
		return "", nil, err
	}
	return dir, lock, nil
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.HSTS != "" && r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", s.opts.HSTS)
	}
	s.mux.ServeHTTP(w, r)
}

// Serve serves on every listener until ctx is done, then shuts down
// gracefully: it stops accepting connections and waits up to grace for
// requests in flight, uploads included, to finish. A nil tlsConfig serves
// plain HTTP.
func (s *Server) Serve(ctx context.Context, listeners []net.Listener, tlsConfig *tls.Config, grace time.Duration) error {
	if len(listeners) == 0 {
		return errors.New("server: no listener")
	}
	hs := &http.Server{
		Handler:           s,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: min(headerTimeout, s.opts.RequestTimeout),
		ReadTimeout:       s.opts.RequestTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.reconcile(ctx)
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		if tlsConfig != nil {
			l = tls.NewListener(l, tlsConfig)
		}
		s.log.Info("listening", "addr", l.Addr().String(), "tls", tlsConfig != nil)
		go func() { errc <- hs.Serve(l) }()
	}
	select {
	case err := <-errc:
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
		defer cancel()
		_ = hs.Shutdown(sctx)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		// Out of patience: drop the connections. Index updates already
		// under way still run to their end before Serve returns.
		hs.Close()
	}
	s.inflight.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// RedirectHandler answers every request with a permanent redirect to the
// same host and path over HTTPS on httpsPort ("" or "443" means the
// default port).
func RedirectHandler(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "no host", http.StatusBadRequest)
			return
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		} else if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}
