package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/apkit-dev/apkit/pkg/auth"
)

// Limits on the shape of an upload form.
const (
	maxParts     = 1000
	maxFieldSize = 1024
	maxNameLen   = 255
)

// Form field defaults.
const (
	DefaultVersion = "edge"
	DefaultRepo    = "main"
	DefaultArch    = "x86_64"
)

// UploadReply is the JSON body of a successful upload.
type UploadReply struct {
	// Repository is version/repo/arch.
	Repository string      `json:"repository"`
	Added      []AddedFile `json:"added"` // the packages added
}

// AddedFile is one package of an accepted upload.
type AddedFile struct {
	File    string `json:"file"`    // file name in the repository
	Name    string `json:"name"`    // package name
	Version string `json:"version"` // package version
	Arch    string `json:"arch"`    // package architecture
	Size    int64  `json:"size"`    // file size in bytes
}

// ErrorReply is the JSON body of a refused request.
type ErrorReply struct {
	Error string `json:"error"` // why the request was refused
}

func replyJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func replyError(w http.ResponseWriter, code int, msg string) {
	replyJSON(w, code, ErrorReply{Error: msg})
}

// httpError is a refusal with its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func refuse(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// PlainName reports whether s may be used as one path element of the tree
// (a version, repository or architecture) or as an uploaded file's name:
// letters, digits and "._+-", not starting with a dot or a dash.
func PlainName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case c == '.' || c == '-' || c == '+':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

type stagedFile struct {
	path string
	name string
	size int64
}

type uploadForm struct {
	fields map[string]string
	files  []stagedFile
}

func (f *uploadForm) cleanup() {
	for _, sf := range f.files {
		_ = os.Remove(sf.path)
	}
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Now()
	s.inflight.Add(1)
	defer s.inflight.Done()
	s.metrics.addInflight(1)
	defer s.metrics.addInflight(-1)

	var who *auth.Identity
	reply, nbytes, err := s.upload(w, r, &who)
	code := http.StatusOK
	if err != nil {
		var he *httpError
		switch {
		case errors.As(err, &he):
		case noSpace(err):
			// The operator's log names the file; the reply names nothing
			// of the server's.
			s.log.Error("upload: out of disk space", "error", err.Error())
			he = &httpError{code: http.StatusInsufficientStorage, msg: "the server is out of disk space; the repository was not changed"}
		default:
			s.log.Error("upload", "error", err.Error())
			he = &httpError{code: http.StatusInternalServerError, msg: "internal error; the repository was not changed"}
		}
		code = he.code
		if code < 500 {
			// Why, for the operator; the client got the same message.
			attrs := []slog.Attr{slog.Int("status", code), slog.String("reason", he.msg), slog.String("remote", r.RemoteAddr)}
			if who != nil {
				attrs = append(attrs, slog.String("subject", who.Subject), slog.String("project_path", who.Claim("project_path")), slog.String("ref", who.Claim("ref")))
			}
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "upload refused", attrs...)
		}
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="apkit"`)
		}
		// The rest of the body, if any, is not worth reading: net/http
		// would otherwise read up to 256 KiB of it before replying, from
		// a client that may never send it.
		w.Header().Set("Connection", "close")
		replyError(w, code, he.msg)
	} else {
		replyJSON(w, code, reply)
	}
	n := 0
	if reply != nil {
		n = len(reply.Added)
	}
	s.metrics.upload(code, s.opts.Now().Sub(start), n, nbytes)
}

// upload does the work of POST /upload; errors other than *httpError are
// internal. It sets *who to the token's identity once it is checked.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, who **auth.Identity) (*UploadReply, int64, error) {
	ctx := r.Context()
	id, err := s.authenticate(r)
	*who = id
	if err != nil {
		return nil, 0, err
	}
	if s.opts.Validator == nil || s.opts.Repository == nil {
		return nil, 0, refuse(http.StatusServiceUnavailable, "this server takes no uploads")
	}
	if r.ContentLength > s.opts.MaxUploadSize {
		return nil, 0, refuse(http.StatusRequestEntityTooLarge, "upload larger than %d bytes", s.opts.MaxUploadSize)
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	rc := http.NewResponseController(w)
	now := time.Now()
	dr := &deadlineReader{r: r.Body, rc: rc, idle: s.opts.UploadIdleTimeout, end: now.Add(s.opts.UploadTimeout),
		start: now, grace: s.opts.UploadRateGrace, rate: s.opts.MinUploadRate}
	r.Body = http.MaxBytesReader(w, dr, s.opts.MaxUploadSize)
	form, err := s.readForm(r)
	if form != nil {
		defer form.cleanup()
	}
	// Checking and adding the files may take a while; the connection's
	// read deadline must not cancel the request meanwhile.
	_ = rc.SetReadDeadline(time.Time{})
	if dr.timedOut {
		// The multipart reader may report the cut as a malformed form.
		if s.opts.MinUploadRate > 0 {
			return nil, 0, refuse(http.StatusRequestTimeout, "upload body too slow: idle for %s, or under %d bytes/s on average after %s", s.opts.UploadIdleTimeout, s.opts.MinUploadRate, s.opts.UploadRateGrace)
		}
		return nil, 0, refuse(http.StatusRequestTimeout, "upload body too slow: idle for %s", s.opts.UploadIdleTimeout)
	}
	if err != nil {
		return nil, 0, err
	}

	target := [3]string{DefaultVersion, DefaultRepo, DefaultArch}
	for i, key := range []string{"version", "repo", "arch"} {
		if v, ok := form.fields[key]; ok {
			if !PlainName(v) {
				return nil, 0, refuse(http.StatusBadRequest, "%s: %q is not a plain name", key, v)
			}
			target[i] = v
		}
	}
	if len(form.files) == 0 {
		return nil, 0, refuse(http.StatusBadRequest, "no file in the form")
	}
	version, repo, arch := target[0], target[1], target[2]

	files := make([]File, 0, len(form.files))
	reply := &UploadReply{Repository: version + "/" + repo + "/" + arch}
	var total int64
	for _, sf := range form.files {
		pkg, err := s.opts.Validator.Validate(ctx, sf.path)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			var pe *fs.PathError
			if errors.As(err, &pe) {
				// Reading the staged file failed: this side's fault, and
				// the message would name a server path.
				return nil, 0, fmt.Errorf("validate %s: %w", sf.name, err)
			}
			return nil, 0, refuse(http.StatusUnprocessableEntity, "%s: %v", sf.name, err)
		}
		if pkg.Arch != arch && pkg.Arch != "noarch" {
			return nil, 0, refuse(http.StatusUnprocessableEntity, "%s: package is for %s, not %s", sf.name, pkg.Arch, arch)
		}
		if want := pkg.FileName(); want != sf.name {
			return nil, 0, refuse(http.StatusUnprocessableEntity, "%s: its .PKGINFO names it %s", sf.name, want)
		}
		files = append(files, File{Path: sf.path, Name: sf.name, Package: pkg})
		reply.Added = append(reply.Added, AddedFile{File: sf.name, Name: pkg.Name, Version: pkg.Version, Arch: pkg.Arch, Size: sf.size})
		total += sf.size
	}

	dir := filepath.Join(s.opts.Dir, version, repo, arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("create %s: %w", reply.Repository, err)
	}
	// The client going away must not leave a half-done change behind: the
	// repository update runs to its end either way.
	addStart := s.opts.Now()
	err = s.opts.Repository.Add(context.WithoutCancel(ctx), dir, files)
	s.metrics.indexUpdate(s.opts.Now().Sub(addStart))
	if err != nil {
		switch {
		case errors.Is(err, ErrConflict):
			return nil, 0, refuse(http.StatusConflict, "%v", err)
		case errors.Is(err, ErrInvalidPackage):
			return nil, 0, refuse(http.StatusUnprocessableEntity, "%v", err)
		}
		return nil, 0, fmt.Errorf("add to %s: %w", reply.Repository, err)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	attrs := []slog.Attr{slog.String("repository", reply.Repository), slog.Any("files", names)}
	if id != nil {
		attrs = append(attrs, slog.String("subject", id.Subject),
			slog.String("project_path", id.Claim("project_path")), slog.String("ref", id.Claim("ref")))
	} else {
		attrs = append(attrs, slog.String("subject", "(dev mode, unauthenticated)"))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "upload accepted", attrs...)
	return reply, total, nil
}

// authenticate checks the bearer token; it returns a nil identity in dev
// mode. A token refused by a claim rule alone returns its identity with the
// refusal, for the log.
func (s *Server) authenticate(r *http.Request) (*auth.Identity, error) {
	if s.opts.Verifier == nil {
		return nil, nil
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, refuse(http.StatusUnauthorized, "missing bearer token")
	}
	id, err := s.opts.Verifier.Verify(r.Context(), strings.TrimSpace(tok))
	if err == nil {
		return id, nil
	}
	var te *auth.TokenError
	var ce *auth.ClaimError
	switch {
	case errors.As(err, &ce):
		return ce.Identity, refuse(http.StatusForbidden, "token not allowed to upload: %v", ce)
	case errors.Is(err, auth.ErrForbidden):
		return nil, refuse(http.StatusForbidden, "token not allowed to upload")
	case errors.Is(err, auth.ErrKeysUnavailable):
		s.log.Error("token keys unavailable", "error", err.Error())
		return nil, refuse(http.StatusServiceUnavailable, "cannot check tokens now; try again later")
	case errors.As(err, &te):
		return nil, refuse(http.StatusUnauthorized, "invalid token: %s", te.Reason)
	}
	return nil, refuse(http.StatusUnauthorized, "invalid token")
}

// readForm streams the multipart form: small fields into memory, each file
// part into its own temporary file in the staging directory. On error the
// returned form (if any) still lists the files written so far.
func (s *Server) readForm(r *http.Request) (*uploadForm, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, refuse(http.StatusBadRequest, "want a multipart/form-data body")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "malformed form: %v", err)
	}
	form := &uploadForm{fields: map[string]string{}}
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n >= maxParts {
			return form, refuse(http.StatusBadRequest, "more than %d parts in the form", maxParts)
		}
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return form, bodyError(err)
		}
		switch part.FormName() {
		case "file":
			name := rawFileName(part)
			if !PlainName(name) || !strings.HasSuffix(name, ".apk") {
				return form, refuse(http.StatusBadRequest, "file name %q is not a plain NAME-VERSION.apk", name)
			}
			if seen[name] {
				return form, refuse(http.StatusBadRequest, "file %s sent twice", name)
			}
			seen[name] = true
			tmp, err := os.CreateTemp(s.staging, "up-*.apk")
			if errors.Is(err, fs.ErrNotExist) {
				// Another server sharing the tree took an idle staging
				// directory for abandoned; make it again.
				if err = os.MkdirAll(s.staging, 0o700); err == nil {
					tmp, err = os.CreateTemp(s.staging, "up-*.apk")
				}
			}
			if err != nil {
				return form, fmt.Errorf("stage upload: %w", err)
			}
			form.files = append(form.files, stagedFile{path: tmp.Name(), name: name})
			sw := &stageWriter{w: stageWriterHook(tmp)}
			size, err := io.Copy(sw, part)
			if cerr := tmp.Close(); err == nil && cerr != nil {
				return form, fmt.Errorf("stage upload: %w", cerr)
			}
			if sw.err != nil {
				// This side's failure (a full disk), not the client's.
				return form, fmt.Errorf("stage upload: %w", sw.err)
			}
			if err != nil {
				return form, bodyError(err)
			}
			form.files[len(form.files)-1].size = size
		case "version", "repo", "arch":
			if _, dup := form.fields[part.FormName()]; dup {
				return form, refuse(http.StatusBadRequest, "field %s given twice", part.FormName())
			}
			b, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
			if err != nil {
				return form, bodyError(err)
			}
			if len(b) > maxFieldSize {
				return form, refuse(http.StatusBadRequest, "field %s is too long", part.FormName())
			}
			form.fields[part.FormName()] = strings.TrimSpace(string(b))
		default:
			// Unknown fields are read and ignored, within the size cap.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return form, bodyError(err)
			}
		}
	}
}

// stageWriterHook returns the writer a staged upload is written through;
// tests replace it to inject write errors.
var stageWriterHook = func(f *os.File) io.Writer { return f }

// stageWriter remembers a write error, which io.Copy does not tell from a
// read error.
type stageWriter struct {
	w   io.Writer
	err error
}

func (s *stageWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// noSpace reports whether err is a full disk or an exhausted quota.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// rawFileName returns the file name a part was sent with, as sent:
// multipart.Part.FileName strips directories, which would hide a client
// sending a path.
func rawFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// deadlineReader sets the connection's read deadline before each read of
// an upload body: at most idle from now, never past end, and, when rate is
// set, no later than the body must have reached its next byte at rate
// bytes per second on average from start plus grace. A reader that cannot
// set deadlines (an HTTP/2 stream on an old transport) reads without.
type deadlineReader struct {
	r     io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	end   time.Time
	start time.Time
	grace time.Duration
	rate  int64 // bytes per second; 0 means no minimum
	n     int64 // bytes read so far
	// timedOut is set once a read hit the deadline.
	timedOut bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	dl := time.Now().Add(d.idle)
	if dl.After(d.end) {
		dl = d.end
	}
	if d.rate > 0 {
		due := d.start.Add(d.grace + time.Duration(float64(d.n+1)/float64(d.rate)*float64(time.Second)))
		if due.Before(dl) {
			dl = due
		}
	}
	_ = d.rc.SetReadDeadline(dl)
	n, err := d.r.Read(p)
	d.n += int64(n)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		d.timedOut = true
	}
	return n, err
}

func (d *deadlineReader) Close() error { return d.r.Close() }

// bodyError maps an error reading the request body to its status: 413 when
// the size cap was hit, 400 for a body that is cut off or malformed.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return refuse(http.StatusRequestEntityTooLarge, "upload larger than %d bytes", mbe.Limit)
	}
	return refuse(http.StatusBadRequest, "malformed or truncated form: %v", err)
}
