package upload

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
)

// Group is a set of packages that go to one repository and architecture in
// one request.
type Group struct {
	Repo  string   `json:"repo"`  // repository name, such as "main"
	Arch  string   `json:"arch"`  // architecture, such as "x86_64"
	Files []string `json:"files"` // paths of the package files
}

// ArchFunc returns the architecture a package file declares in its .PKGINFO.
type ArchFunc func(path string) (string, error)

// ErrUnknownRepo reports a package whose repository [Plan] cannot tell
// from its directory; passing the repository to Plan resolves it.
var ErrUnknownRepo = errors.New("cannot tell its repository")

// Plan finds the packages named by paths and groups them. A directory is
// searched for <repo>/<arch>/*.apk (a REPODEST tree), <arch>/*.apk (one
// repository) or *.apk (one architecture directory); a file is taken as it
// is. The repository is repo when it is not empty, else the name of the
// directory above the architecture directory. The architecture comes from
// the package itself through archOf, or, when archOf is nil, from the name
// of the directory that holds it; a noarch package goes to the
// architecture of its directory. A directory counts as an architecture
// directory only when it is named after one (or after the package's own
// arch): a package elsewhere needs repo (the error wraps
// [ErrUnknownRepo]), and a noarch one is refused, as neither its
// repository nor its architecture can be told. Groups and their files are
// sorted.
func Plan(paths []string, repo string, archOf ArchFunc) ([]Group, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".apk") && d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no .apk file found")
	}
	groups := map[[2]string]*Group{}
	seen := map[string]string{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		dir := filepath.Dir(abs)
		arch := filepath.Base(dir)
		// The directory is an architecture directory (<repo>/<arch>/) when
		// it is named after one; only then do its name and its parent's
		// say anything about where the package goes.
		archDir := apkbuild.KnownArch(arch)
		fromDir := true
		if archOf != nil {
			a, err := archOf(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			// A noarch package goes where it was built, as abuild puts it
			// in the build's arch directory.
			if a != "noarch" {
				archDir = archDir || a == arch
				arch, fromDir = a, false
			}
		}
		if !archDir && fromDir {
			return nil, fmt.Errorf("%s: cannot tell its architecture: %s is not named after one; put it in a <repo>/<arch>/ directory", f, filepath.Dir(f))
		}
		r := repo
		if r == "" {
			if !archDir {
				return nil, fmt.Errorf("%s: %w: %s is not a <repo>/%s/ directory", f, ErrUnknownRepo, filepath.Dir(f), arch)
			}
			r = filepath.Base(filepath.Dir(dir))
		}
		if r == "" || r == "/" || r == "." {
			return nil, fmt.Errorf("%s: %w from its directory", f, ErrUnknownRepo)
		}
		key := [2]string{r, arch}
		name := filepath.Base(f)
		if other, dup := seen[r+"/"+arch+"/"+name]; dup && other != abs {
			return nil, fmt.Errorf("%s and %s would both be %s/%s/%s", other, abs, r, arch, name)
		}
		seen[r+"/"+arch+"/"+name] = abs
		g := groups[key]
		if g == nil {
			g = &Group{Repo: r, Arch: arch}
			groups[key] = g
		}
		if !contains(g.Files, f) {
			g.Files = append(g.Files, f)
		}
	}
	out := make([]Group, 0, len(groups))
	for _, g := range groups {
		sort.Strings(g.Files)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Arch < out[j].Arch
	})
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Progress receives upload progress. Implementations must be safe for use
// from the goroutine that sends the request.
type Progress interface {
	// Start is called before each attempt to send a group of size bytes.
	Start(g Group, attempt int, size int64)
	// Sent is called as bytes go out, with the running total.
	Sent(n int64)
	// Retry is called when an attempt failed and another will follow after wait.
	Retry(g Group, err error, wait time.Duration)
}

type noProgress struct{}

func (noProgress) Start(Group, int, int64)           {}
func (noProgress) Sent(int64)                        {}
func (noProgress) Retry(Group, error, time.Duration) {}

// Client posts groups of packages to a server. Its zero value is not
// usable; fill in URL and Token at least. It is safe for concurrent use
// when its fields are not changed.
type Client struct {
	// URL is the server's base URL; the client posts to URL/upload.
	URL string
	// Token is sent as a bearer token ("" sends none).
	Token string
	// Version is the form's version field ("" lets the server choose).
	Version string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Attempts is how many times a group is tried (0 means 5).
	Attempts int
	// Backoff is the wait before the first retry, doubled after each (0
	// means 1 s); waits are jittered and capped at 30 s.
	Backoff time.Duration
	// Progress receives progress reports; nil means none.
	Progress Progress
}

// Reply is the server's answer to an accepted upload.
type Reply struct {
	Repository string `json:"repository"` // version/repo/arch on the server
	// Added lists the packages the server added.
	Added []struct {
		File    string `json:"file"`
		Name    string `json:"name"`
		Version string `json:"version"`
		Arch    string `json:"arch"`
		Size    int64  `json:"size"`
	} `json:"added"`
}

// ServerError is a refusal from the server, with its message.
type ServerError struct {
	Status  int    // the HTTP status code
	Message string // the server's error message, or ""
	// RetryAfter is how long the server asked the client to wait before
	// trying again (its Retry-After header), or 0.
	RetryAfter time.Duration
}

// Error returns "server: " with the HTTP status and the server's message.
func (e *ServerError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server: %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("server: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Temporary reports whether trying again may help: a 5xx other than 507
// (Insufficient Storage: the server's disk is full, which an immediate
// retry of the same upload will not change). A 4xx is the server's
// considered refusal and is never retried.
func (e *ServerError) Temporary() bool {
	return e.Status >= 500 && e.Status != http.StatusInsufficientStorage
}

// Send posts one group and returns the server's reply. It retries after
// network errors and 5xx replies, never after 4xx replies, 507 (the
// server's disk is full) or a server certificate that does not verify.
func (c *Client) Send(ctx context.Context, g Group) (*Reply, error) {
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	wait := c.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	prog := c.Progress
	if prog == nil {
		prog = noProgress{}
	}
	var err error
	for attempt := 1; ; attempt++ {
		var reply *Reply
		reply, err = c.send(ctx, g, attempt, prog)
		if err == nil {
			return reply, nil
		}
		var se *ServerError
		var ce *tls.CertificateVerificationError
		if ctx.Err() != nil || (errors.As(err, &se) && !se.Temporary()) || errors.Is(err, errLocal) || errors.As(err, &ce) {
			return nil, err
		}
		if attempt >= attempts {
			return nil, fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		d := wait/2 + rand.N(wait/2+1)
		if se != nil && se.RetryAfter > d {
			d = min(se.RetryAfter, maxRetryAfter)
		}
		prog.Retry(g, err, d)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// maxRetryAfter caps the wait a server's Retry-After can impose.
const maxRetryAfter = time.Minute

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// errLocal marks errors on this side (a file that cannot be read), which
// retrying will not fix.
var errLocal = errors.New("local error")

func (c *Client) send(ctx context.Context, g Group, attempt int, prog Progress) (*Reply, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: url %q is not an http(s) URL", errLocal, c.URL)
	}
	u = u.JoinPath("upload")
	body, size, closeFiles, err := c.body(g)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errLocal, err)
	}
	defer closeFiles()
	prog.Start(g, attempt, size)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &countingReader{r: body, prog: prog})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errLocal, err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", body.contentType)
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	// A redirect is reported, not followed: a POST would turn into a GET,
	// and the token would go to a URL nobody chose.
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		// The client's *url.Error names the method and the URL (without a
		// password) already.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, fmt.Errorf("post %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("post %s: reading reply: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		var er struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &er) == nil && er.Error != "" {
			msg = er.Error
		}
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			if loc, err := resp.Location(); err == nil {
				base := *loc
				base.Path, base.RawPath, base.RawQuery = strings.TrimSuffix(loc.Path, "/upload"), "", ""
				msg = fmt.Sprintf("redirects to %s: use --url %s", loc.Redacted(), base.Redacted())
			}
		}
		return nil, &ServerError{Status: resp.StatusCode, Message: msg, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	var reply Reply
	if err := json.Unmarshal(raw, &reply); err != nil {
		return nil, fmt.Errorf("post %s: reply: %w", u.Redacted(), err)
	}
	return &reply, nil
}

type formBody struct {
	io.Reader
	contentType string
}

// body builds the multipart form as a chain of readers, so that files are
// streamed from disk and the exact length is known beforehand.
func (c *Client) body(g Group) (*formBody, int64, func(), error) {
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var parts []io.Reader
	var size int64
	flush := func() {
		b := bytes.Clone(buf.Bytes())
		buf.Reset()
		parts = append(parts, bytes.NewReader(b))
		size += int64(len(b))
	}
	if c.Version != "" {
		mw.WriteField("version", c.Version)
	}
	mw.WriteField("repo", g.Repo)
	mw.WriteField("arch", g.Arch)
	for _, p := range g.Files {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, 0, nil, err
		}
		files = append(files, f)
		fi, err := f.Stat()
		if err != nil {
			closeAll()
			return nil, 0, nil, err
		}
		if _, err := mw.CreateFormFile("file", filepath.Base(p)); err != nil {
			closeAll()
			return nil, 0, nil, err
		}
		flush()
		parts = append(parts, io.LimitReader(f, fi.Size()))
		size += fi.Size()
	}
	mw.Close()
	flush()
	return &formBody{Reader: io.MultiReader(parts...), contentType: mw.FormDataContentType()}, size, closeAll, nil
}

type countingReader struct {
	r    io.Reader
	n    int64
	prog Progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n += int64(n)
		c.prog.Sent(c.n)
	}
	return n, err
}
