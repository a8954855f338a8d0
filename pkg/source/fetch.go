package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults used when the matching [Options] field is zero.
const (
	DefaultJobs     = 4
	DefaultAttempts = 4
	DefaultBackoff  = time.Second
	DefaultTimeout  = 60 * time.Second
	DefaultMaxSize  = 8 << 30 // 8 GiB
	maxBackoff      = 30 * time.Second
)

// Options control [Fetch]. The zero value fetches with the defaults above
// into no cache, which only works for local items.
type Options struct {
	// Cache is the source cache directory (SRCDEST). Remote files are
	// saved as Cache/<Item.Name>. It is created when missing and may be
	// shared by several processes at once.
	Cache string
	// Offline forbids the network: a remote file missing from the cache
	// is an error ([*MissingError]).
	Offline bool
	// NoVerify skips checksum verification (for recomputing checksums).
	NoVerify bool
	// Client makes the requests; nil means a client with the default
	// transport, which honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY and
	// follows up to 10 redirects.
	Client *http.Client
	// Progress receives download news; nil means [NoProgress].
	Progress Progress
	// Jobs bounds how many files download at once (default 4).
	Jobs int
	// Attempts is how many times one file is tried before giving up
	// (default 4). Network errors, stalls and 5xx/408/429 answers are
	// retried; other HTTP errors are not.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles for each
	// further one, up to 30s (default 1s).
	Backoff time.Duration
	// Timeout is how long a download may go without receiving a byte
	// (waiting for the response included) before the attempt fails
	// (default 60s).
	Timeout time.Duration
	// Mirror is abuild's DISTFILES_MIRROR: an http or https URL, or a
	// local directory (a plain path or a file:// URL), tried before each
	// remote item's own URL. The mirror is asked for <Mirror>/<Item.Name>
	// once, without retries; when that fails for any reason (missing file,
	// network error, wrong checksum), the item's own URL is used. What the
	// mirror returns is verified like any download, and a mirror copy that
	// fails verification is moved aside before the item's own URL is tried
	// (abuild would stop there; the upstream file, verified too, is no less
	// trustworthy, and a stale mirror then does not block the build). With
	// Offline, a local-directory mirror is still used.
	Mirror string
	// MaxSize bounds the size of one downloaded or mirrored file in
	// bytes (default [DefaultMaxSize], 8 GiB): a server announcing or
	// sending more fails with a [*TooLargeError] before the checksum is
	// checked, and the partial file is removed.
	MaxSize int64
}

// Result says where a fetched item is.
type Result struct {
	Item Item // the item fetched
	// Path is the verified file: in the cache for a remote item, the
	// item's Local path otherwise.
	Path string
	// Downloaded is true when the file came over the network (or from
	// the mirror) in this call.
	Downloaded bool
	// FromMirror is true when the downloaded file came from
	// [Options].Mirror.
	FromMirror bool
	// MirrorErr says why the mirror was not used when it was tried and
	// the file came from the item's own URL instead: an *[HTTPError]
	// with status 404 for a file the mirror lacks, a [*ChecksumError]
	// for a mirror copy that failed verification (and was moved aside).
	MirrorErr error
}

// HTTPError is a download answered with an HTTP error status.
type HTTPError struct {
	URL        string // the URL requested
	StatusCode int    // the HTTP status code, such as 404
	Status     string // the status line's text, such as "404 Not Found"
}

// Error returns "GET <url>: <status>".
func (e *HTTPError) Error() string { return fmt.Sprintf("GET %s: %s", e.URL, e.Status) }

// Temporary reports whether retrying might help (5xx, 408, 429).
func (e *HTTPError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests
}

// TooLargeError is a download that would exceed [Options].MaxSize. It is
// not retried.
type TooLargeError struct {
	Source string // the URL or mirror file
	Limit  int64  // the limit in bytes
	Size   int64  // the size announced up front, or -1 when found while streaming
}

// Error names the source and the limit.
func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("%s: size %d bytes exceeds the limit of %d bytes", e.Source, e.Size, e.Limit)
	}
	return fmt.Sprintf("%s: larger than the limit of %d bytes", e.Source, e.Limit)
}

// ErrStalled is the cause of an attempt that received nothing for
// [Options.Timeout].
var ErrStalled = errors.New("download stalled")

// ErrOffline is the sentinel of [*MissingError].
var ErrOffline = errors.New("offline")

// MissingError lists the remote items that are not in the cache when
// fetching offline.
type MissingError struct {
	Items []Item // the missing items, in source order
}

// Error lists the missing items, one per line, with the URL each would
// come from.
func (e *MissingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "offline: %d source(s) missing from the cache:", len(e.Items))
	for _, it := range e.Items {
		fmt.Fprintf(&b, "\n  %s (from %s)", it.Name, it.URL)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrOffline) true.
func (e *MissingError) Is(target error) bool { return target == ErrOffline }

// Fetch makes every item available and verified: local items are checked
// in place, remote ones are taken from the cache or downloaded into it.
// A download goes to Cache/<name>.part under an exclusive lock on
// Cache/<name>.lock, is verified, then renamed to Cache/<name>, so no
// partial or unverified file ever has its final name and two processes
// fetching the same file download it once. A cached file that fails
// verification is downloaded once more: when the download verifies, it
// replaces the cached copy; when it has the cached copy's digest, the
// recipe's checksum is what changed, the cached copy is kept and the
// download dropped ([ChecksumError].SameAsCached); any other download
// that fails verification is renamed to <name>.<first 8 hex digits of the
// expected digest> for inspection, as abuild does.
//
// Results are in the order of items; for items that failed, Path is "".
// The error joins one error per failed item (each wrapped with its name).
func Fetch(ctx context.Context, items []Item, opts Options) ([]Result, error) {
	if err := checkItems(items, opts); err != nil {
		return nil, err
	}
	f := newFetcher(opts)
	results := make([]Result, len(items))
	for i, it := range items {
		results[i].Item = it
	}
	if opts.Offline {
		var missing []Item
		for _, it := range items {
			if it.Remote() {
				if _, err := os.Stat(filepath.Join(opts.Cache, it.Name)); err != nil {
					if dir, ok := localMirror(opts.Mirror); ok {
						if _, err := os.Stat(filepath.Join(dir, it.Name)); err == nil {
							continue // copied from the local mirror
						}
					}
					missing = append(missing, it)
				}
			}
		}
		if len(missing) > 0 {
			return results, &MissingError{Items: missing}
		}
	}
	errs := make([]error, len(items))
	sem := make(chan struct{}, f.jobs)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("fetch %s: %w", it.Name, ctx.Err())
				return
			}
			defer func() { <-sem }()
			path, downloaded, err := f.one(ctx, it, &results[i])
			if err != nil {
				var ce *ChecksumError
				if errors.As(err, &ce) {
					errs[i] = err // already names the file
				} else {
					errs[i] = fmt.Errorf("fetch %s: %w", it.Name, err)
				}
				return
			}
			results[i].Path, results[i].Downloaded = path, downloaded
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

func checkItems(items []Item, opts Options) error {
	if opts.Mirror != "" {
		if _, ok := localMirror(opts.Mirror); !ok {
			u, err := url.Parse(opts.Mirror)
			if err != nil {
				return fmt.Errorf("distfiles mirror: %w", err)
			}
			if !supportedScheme(u.Scheme) || u.Host == "" {
				return fmt.Errorf("distfiles mirror %q: not an http, https or ftp URL, nor a local directory", opts.Mirror)
			}
		}
	}
	seen := map[string]bool{}
	for _, it := range items {
		if !validName(it.Name) {
			return fmt.Errorf("source %q: invalid saved name (allowed: A-Z a-z 0-9 + @ ~ . _ -)", it.Name)
		}
		if seen[it.Name] {
			return fmt.Errorf("source %s: duplicate saved name", it.Name)
		}
		seen[it.Name] = true
		if it.Remote() {
			if opts.Cache == "" {
				return fmt.Errorf("source %s: no cache directory for remote sources", it.Name)
			}
			u, err := url.Parse(it.URL)
			if err != nil {
				return fmt.Errorf("source %s: %w", it.Name, err)
			}
			if !supportedScheme(u.Scheme) {
				return fmt.Errorf("source %s: unsupported URL scheme %q", it.Name, u.Scheme)
			}
		} else if it.Local == "" {
			return fmt.Errorf("source %s: neither URL nor local path", it.Name)
		}
	}
	return nil
}

type fetcher struct {
	opts     Options
	client   *http.Client
	progress Progress
	jobs     int
	attempts int
	backoff  time.Duration
	timeout  time.Duration
	maxSize  int64
}

func newFetcher(opts Options) *fetcher {
	f := &fetcher{opts: opts, client: opts.Client, progress: opts.Progress,
		jobs: opts.Jobs, attempts: opts.Attempts, backoff: opts.Backoff, timeout: opts.Timeout,
		maxSize: opts.MaxSize}
	if f.client == nil {
		f.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if f.progress == nil {
		f.progress = NoProgress
	}
	if f.jobs <= 0 {
		f.jobs = DefaultJobs
	}
	if f.attempts <= 0 {
		f.attempts = DefaultAttempts
	}
	if f.backoff <= 0 {
		f.backoff = DefaultBackoff
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxSize <= 0 {
		f.maxSize = DefaultMaxSize
	}
	return f
}

func (f *fetcher) verify(it Item, path string) error {
	if f.opts.NoVerify {
		return nil
	}
	err := Verify(path, it.Sum)
	var ce *ChecksumError
	if errors.As(err, &ce) {
		ce.Name = it.Name
	}
	return err
}

// one fetches a single item and returns its path; it records in res
// whether the mirror served it, or why not.
func (f *fetcher) one(ctx context.Context, it Item, res *Result) (path string, downloaded bool, err error) {
	if !it.Remote() {
		if _, err := os.Stat(it.Local); err != nil {
			return "", false, err
		}
		return it.Local, false, f.verify(it, it.Local)
	}
	if err := os.MkdirAll(f.opts.Cache, 0o755); err != nil {
		return "", false, err
	}
	final := filepath.Join(f.opts.Cache, it.Name)
	lock, err := lockFile(ctx, final+".lock")
	if err != nil {
		return "", false, fmt.Errorf("lock: %w", err)
	}
	defer lock.unlock()

	// cached is the digest of a cached copy that does not match: it was
	// verified when it was stored, against the recipe of that time.
	cached := ""
	if _, err := os.Stat(final); err == nil {
		err := f.verify(it, final)
		if err == nil {
			return final, false, nil
		}
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			return "", false, err
		}
		ce.Remote = true
		if f.opts.Offline {
			if _, ok := localMirror(f.opts.Mirror); !ok {
				return "", false, err
			}
		}
		// The recipe's checksum changed, or the upstream file did, or
		// another recipe saved a different file under this name: download
		// anew, and keep the cached copy until a download verifies.
		cached = ce.Got
	}
	_, haveLocalMirror := localMirror(f.opts.Mirror)
	if f.opts.Offline && !haveLocalMirror {
		return "", false, &MissingError{Items: []Item{it}}
	}

	part := final + ".part"
	unverified := it.Sum.IsZero() || f.opts.NoVerify
	if unverified {
		// A part left by an earlier run is resumed only when the result
		// will be verified: nothing says it is of the same upstream file.
		os.Remove(part)
	}
	tr := f.progress.Start(it)
	fromMirror := false
	err = errNoMirror
	if f.opts.Mirror != "" {
		err = f.fill(ctx, it, f.opts.Mirror, part, final, cached, tr, true)
		if err == nil {
			fromMirror = true
		} else {
			res.MirrorErr = err
			if unverified || ctx.Err() != nil {
				os.Remove(part)
			}
		}
	}
	if err != nil && ctx.Err() == nil {
		if f.opts.Offline {
			// A local mirror's copy that failed verification is the
			// error to report; anything else means the file is missing.
			if !errors.Is(err, ErrChecksumMismatch) {
				err = &MissingError{Items: []Item{it}}
			}
		} else {
			err = f.fill(ctx, it, "", part, final, cached, tr, false)
		}
	}
	if err == nil {
		if err = os.Rename(part, final); err == nil {
			err = syncDir(f.opts.Cache)
		}
	}
	tr.Done(err)
	if err != nil {
		if fi, serr := os.Stat(part); serr == nil && fi.Size() == 0 {
			os.Remove(part) // nothing to resume
		}
		return "", false, err
	}
	res.FromMirror = fromMirror
	if fromMirror {
		res.MirrorErr = nil
	}
	return final, true, nil
}

// errNoMirror stands for "the mirror was not tried".
var errNoMirror = errors.New("no mirror")

// fill gets the item into part, from mirror (with the item's saved name,
// one attempt) when that is not "", else from the item's own URL (with
// retries), and verifies it. A copy that fails verification is removed
// when it has digest cached, that of the cached copy at final (the
// recipe's checksum is what differs, and the cached copy is kept), and
// moved aside otherwise.
func (f *fetcher) fill(ctx context.Context, it Item, mirror, part, final, cached string, tr Transfer, once bool) error {
	var err error
	src := it
	if dir, ok := localMirror(mirror); ok {
		err = copyPart(ctx, filepath.Join(dir, it.Name), part, tr, f.maxSize)
	} else {
		if mirror != "" {
			src.URL = strings.TrimRight(mirror, "/") + "/" + it.Name
		}
		attempts := f.attempts
		if once {
			attempts = 1
		}
		err = f.download(ctx, src, part, tr, attempts)
	}
	if err != nil {
		var tl *TooLargeError
		if errors.As(err, &tl) {
			os.Remove(part) // never resume past the limit
		}
		return err
	}
	if err = f.verify(it, part); err != nil {
		var ce *ChecksumError
		if errors.As(err, &ce) {
			ce.Path = final
			if mirror != "" {
				ce.Source = src.URL
				if _, ok := localMirror(mirror); ok {
					ce.Source = filepath.Join(mirror, it.Name)
				}
			}
			ce.Remote = true
			if cached != "" && ce.Got == cached {
				ce.SameAsCached = true
				os.Remove(part)
			} else if moved, merr := moveAside(part, final, it.Sum.Digest); merr == nil {
				ce.MovedTo = moved
			} else {
				err = errors.Join(err, merr)
			}
		}
	}
	return err
}

// localMirror reports whether mirror names a local directory (a plain
// path or a file:// URL) and returns it.
func localMirror(mirror string) (string, bool) {
	if mirror == "" {
		return "", false
	}
	if rest, ok := strings.CutPrefix(mirror, "file://"); ok {
		return rest, true
	}
	if strings.Contains(mirror, "://") {
		return "", false
	}
	return mirror, true
}

// supportedScheme reports whether URLs of scheme can be downloaded.
func supportedScheme(scheme string) bool {
	return scheme == "http" || scheme == "https" || scheme == "ftp"
}

// copyPart copies the file src into part (replacing what part held) and
// flushes it.
func copyPart(ctx context.Context, src, part string, tr Transfer, maxSize int64) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", src)
	}
	if fi.Size() > maxSize {
		return &TooLargeError{Source: src, Limit: maxSize, Size: fi.Size()}
	}
	out, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	tr.Size(fi.Size(), 0)
	n, err := io.Copy(out, io.LimitReader(&ctxReader{ctx, in}, maxSize+1))
	tr.Add(n)
	if err != nil {
		return err
	}
	if n > maxSize { // the file grew while being copied
		return &TooLargeError{Source: src, Limit: maxSize, Size: -1}
	}
	return out.Sync()
}

// download fetches it.URL into part, resuming what part already holds,
// retrying temporary failures with exponential backoff.
func (f *fetcher) download(ctx context.Context, it Item, part string, tr Transfer, attempts int) error {
	var validator string // ETag or Last-Modified of the first answer, for If-Range
	for attempt := 1; ; attempt++ {
		var err error
		if strings.HasPrefix(strings.ToLower(it.URL), "ftp://") {
			err = f.attemptFTP(ctx, it, part, tr)
		} else {
			err = f.attempt(ctx, it, part, tr, &validator)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryable(err) || attempt >= attempts {
			if attempt > 1 {
				return fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return err
		}
		wait := f.backoff << (attempt - 1)
		if wait > maxBackoff || wait <= 0 {
			wait = maxBackoff
		}
		wait += time.Duration(rand.Int64N(int64(wait)/5 + 1))
		tr.Retry(attempt, err, wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Temporary()
	}
	var fe *FTPError
	if errors.As(err, &fe) {
		return fe.Temporary()
	}
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return false
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return false // a local file problem: retrying will not help
	}
	return true
}

// openPart opens, creating it if need be, a download's .part file, and
// returns it with the number of bytes it already holds.
func openPart(part string) (*os.File, int64, error) {
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, err
	}
	st, err := out.Stat()
	if err != nil {
		out.Close()
		return nil, 0, err
	}
	return out, st.Size(), nil
}

// stallContext returns the context of one download attempt: it is
// cancelled with [ErrStalled] when the returned timer fires, f.timeout
// after the last Reset. stop releases both.
func (f *fetcher) stallContext(ctx context.Context) (context.Context, *time.Timer, func()) {
	actx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(f.timeout, func() { cancel(ErrStalled) })
	return actx, timer, func() {
		timer.Stop()
		cancel(nil)
	}
}

// attempt runs one GET, appending to part when the server honours Range.
func (f *fetcher) attempt(ctx context.Context, it Item, part string, tr Transfer, validator *string) (err error) {
	out, have, err := openPart(part)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()

	actx, timer, stop := f.stallContext(ctx)
	defer stop()

	req, err := http.NewRequestWithContext(actx, http.MethodGet, it.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "apkit")
	// Ask for the bytes as stored: a transparently decompressed .gz would
	// fail its checksum, and byte ranges only make sense on the stored form.
	req.Header.Set("Accept-Encoding", "identity")
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		if *validator != "" {
			req.Header.Set("If-Range", *validator)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return stallCause(actx, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			// Not the range we asked for: start over.
			if err := out.Truncate(0); err != nil {
				return err
			}
			return fmt.Errorf("GET %s: unexpected Content-Range %q", it.URL, resp.Header.Get("Content-Range"))
		}
		total = size
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// Either the part is already complete or it is longer than the
		// file now is; both cases restart from a clean slate unless the
		// sizes agree.
		if _, size, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && size == have {
			tr.Size(size, have)
			return out.Sync()
		}
		if err := out.Truncate(0); err != nil {
			return err
		}
		return &HTTPError{URL: it.URL, StatusCode: http.StatusServiceUnavailable, Status: resp.Status + " (restarting)"}
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			if err := out.Truncate(0); err != nil {
				return err
			}
			have = 0
		}
		if resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
	default:
		return &HTTPError{URL: it.URL, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if v := resp.Header.Get("ETag"); v != "" && !strings.HasPrefix(v, "W/") {
		*validator = v
	} else if v := resp.Header.Get("Last-Modified"); v != "" {
		*validator = v
	}
	if _, err := out.Seek(have, io.SeekStart); err != nil {
		return err
	}
	if total > f.maxSize {
		return &TooLargeError{Source: it.URL, Limit: f.maxSize, Size: total}
	}
	tr.Size(total, have)
	buf := make([]byte, 128<<10)
	got := have
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			timer.Reset(f.timeout)
			if got+int64(n) > f.maxSize {
				return &TooLargeError{Source: it.URL, Limit: f.maxSize, Size: -1}
			}
			if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
			got += int64(n)
			tr.Add(int64(n))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return stallCause(actx, rerr)
		}
	}
	return out.Sync()
}

// stallCause replaces a context error caused by the stall timer with
// ErrStalled, so that it reads well and is retried.
func stallCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		return fmt.Errorf("%w: nothing received for too long", ErrStalled)
	}
	return err
}

// parseContentRange parses "bytes START-END/SIZE" or "bytes */SIZE"
// (SIZE may be "*", giving -1).
func parseContentRange(s string) (start, size int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		n, err := strconv.ParseInt(sz, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		size = n
	}
	if rng == "*" {
		return -1, size, true
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return n, size, true
}

// syncDir flushes a directory entry change (a rename) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
