package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/upload"
)

type uploadOptions struct {
	url       string
	version   string
	repo      string
	tokenFile string
	tokenEnv  string
	dryRun    bool
	json      bool
	attempts  int
	paths     []string
	osRelease string // tests point it elsewhere
}

// uploadResult is one line of `apkit upload --json`: one per group of
// packages.
type uploadResult struct {
	Repo       string   `json:"repo"`
	Arch       string   `json:"arch"`
	Version    string   `json:"version"`
	Files      []string `json:"files"`
	Repository string   `json:"repository,omitempty"`
	Added      []string `json:"added,omitempty"`
	DryRun     bool     `json:"dry_run,omitempty"`
	// Error says why the group was not uploaded; the groups after it were
	// not tried.
	Error string `json:"error,omitempty"`
}

const uploadLong = `Upload packages to an apkit serve repository (POST /upload).

PATH is a package file or a directory searched for packages: a REPODEST
tree (<repo>/<arch>/*.apk), one repository (<arch>/*.apk) or one
architecture directory. Without PATH, the configured repodest is used.
Packages are grouped by repository (--repo, else the directory above the
architecture directory) and architecture (read from each package), and each
group is posted in one request, which the server takes whole or not at all.

The version (the first level of the server's tree) is --version, else the
running Alpine system's, from /etc/os-release: v3.20 for Alpine 3.20.x,
edge for edge.

The token is read from --token-file, else from the variable that
--token-env names (use it for a GitLab CI id_tokens variable), else from
APKIT_TOKEN, CI_JOB_JWT_V2 or CI_JOB_JWT; without one, packages are sent
without a token, which only a server in --dev mode takes. Network errors and
server errors (5xx) are retried with backoff; refusals (4xx) are not, and the
server's message is shown.`

func newUploadCmd(app *App) *cobra.Command { return uploadCmd(app, runUpload) }

// uploadCmd builds the command around run (runUpload, or a test's capture).
func uploadCmd(app *App, run func(context.Context, *App, *uploadOptions) error) *cobra.Command {
	opts := &uploadOptions{}
	cmd := &cobra.Command{
		Use:   "upload --url URL [PATH...]",
		Short: "Upload packages to an apkit serve repository",
		Long:  uploadLong,
		Example: `  apkit upload --url https://packages.example.com --token-env APKIT_ID_TOKEN ~/packages
  apkit upload --url http://127.0.0.1:8080 --version edge --repo testing ./hello-1.0-r0.apk
  apkit upload --url https://packages.example.com --dry-run ~/packages`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return run(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.url, "url", "", "server `URL` (required)")
	f.StringVar(&opts.version, "version", "", "repository `version`, e.g. v3.20 or edge (default: the running system's)")
	f.StringVar(&opts.repo, "repo", "", "repository `name` (default: from each package's directory)")
	f.StringVar(&opts.tokenFile, "token-file", "", "read the token from `file`")
	f.StringVar(&opts.tokenEnv, "token-env", upload.DefaultTokenEnv, "read the token from the environment `variable`")
	f.BoolVar(&opts.dryRun, "dry-run", false, "list what would be sent and send nothing")
	f.BoolVar(&opts.json, "json", false, "print JSON")
	f.IntVar(&opts.attempts, "attempts", 5, "`n` tries per group on network and server errors")
	return cmd
}

func runUpload(ctx context.Context, app *App, opts *uploadOptions) error {
	if opts.url == "" {
		return usageErrorf("--url is required")
	}
	if u, err := url.Parse(opts.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("--url: %q is not an http(s) URL such as https://packages.example.com", opts.url)
	}
	if opts.repo != "" && !plainName(opts.repo) {
		return usageErrorf("--repo: %q is not a plain name", opts.repo)
	}
	if opts.attempts < 1 {
		return usageErrorf("--attempts: %d is less than 1", opts.attempts)
	}
	version := opts.version
	if version == "" {
		v, err := upload.SystemVersion(opts.osRelease)
		if err != nil {
			// Not a mistake in the command line: the system is not the
			// Alpine the default assumes.
			return fmt.Errorf("upload: %w", err)
		}
		version = v
	} else if !plainName(version) {
		return usageErrorf("--version: %q is not a plain name", version)
	}
	paths := opts.paths
	if len(paths) == 0 {
		cfg, err := app.Config()
		if err != nil {
			return err
		}
		paths = []string{cfg.Repodest}
	}
	groups, err := upload.Plan(paths, opts.repo, packageArch)
	if errors.Is(err, upload.ErrUnknownRepo) {
		return fmt.Errorf("upload: %w; use --repo", err)
	}
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	results := make([]uploadResult, 0, len(groups))
	if opts.dryRun {
		for _, g := range groups {
			results = append(results, uploadResult{Repo: g.Repo, Arch: g.Arch, Version: version, Files: g.Files, DryRun: true})
		}
		return printUpload(app, opts, results)
	}

	token, from, err := upload.TokenSource{File: opts.tokenFile, Env: opts.tokenEnv, Getenv: app.Getenv}.Token()
	switch {
	case errors.Is(err, upload.ErrNoToken):
		// A server in dev mode takes uploads without one; any other
		// answers 401, which is reported with its message.
		app.IO.Warnf("%v; uploading without a token", err)
	case err != nil:
		// An unreadable token file is the job's setup, not the command line.
		return err
	default:
		app.IO.Verbosef("token from %s", from)
		if opts.tokenFile == "" && opts.tokenEnv != "" && opts.tokenEnv != upload.DefaultTokenEnv && from != "$"+opts.tokenEnv {
			// Likely a misnamed id_tokens variable: a fallback token
			// (another audience) would be refused with a puzzling 401.
			app.IO.Warnf("--token-env %s: $%s is empty; using the token in %s", opts.tokenEnv, opts.tokenEnv, from)
		}
	}
	if u, err := url.Parse(opts.url); err == nil && token != "" && u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
		app.IO.Warnf("--url %s is plain http: the token is sent in clear text and can be read and reused on the way; use https", u.Redacted())
	}
	hc, err := app.HTTPClient()
	if err != nil {
		return err
	}
	client := &upload.Client{
		URL: opts.url, Token: token, Version: version, HTTP: hc,
		Attempts: opts.attempts, Progress: newUploadProgress(app.IO),
	}
	var failed error
	for _, g := range groups {
		reply, err := client.Send(ctx, g)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = fmt.Errorf("upload %s/%s: %w", g.Repo, g.Arch, err)
			var ce *tls.CertificateVerificationError
			if errors.As(err, &ce) {
				failed = fmt.Errorf("%w (for a private certificate authority, set SSL_CERT_FILE to its certificate)", failed)
			}
			var se *upload.ServerError
			if token != "" && errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden) {
				failed = fmt.Errorf("%w (token from %s)", failed, from)
			}
			results = append(results, uploadResult{Repo: g.Repo, Arch: g.Arch, Version: version, Files: g.Files, Error: failed.Error()})
			break
		}
		r := uploadResult{Repo: g.Repo, Arch: g.Arch, Version: version, Files: g.Files, Repository: reply.Repository}
		for _, a := range reply.Added {
			r.Added = append(r.Added, a.File)
		}
		results = append(results, r)
	}
	if err := printUpload(app, opts, results); err != nil {
		return err
	}
	return failed
}

func printUpload(app *App, opts *uploadOptions, results []uploadResult) error {
	if opts.json {
		for _, r := range results {
			if err := writeJSONLine(app.IO.Out, r); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range results {
		if r.DryRun {
			fmt.Fprintf(app.IO.Out, "would upload to %s/%s/%s:\n", r.Version, r.Repo, r.Arch)
			for _, f := range r.Files {
				fmt.Fprintf(app.IO.Out, "  %s\n", f)
			}
			continue
		}
		for _, a := range r.Added {
			fmt.Fprintf(app.IO.Out, "%s/%s\n", r.Repository, a)
		}
	}
	return nil
}

// plainName mirrors the server's rule for version and repository names.
func plainName(s string) bool {
	if s == "" || len(s) > 255 || s[0] == '.' || s[0] == '-' || s[0] == '+' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// uploadProgress reports on the error stream: one line per attempt, and a
// running byte count for large groups on a terminal.
type uploadProgress struct {
	io    *term.Streams
	mu    sync.Mutex
	size  int64
	last  time.Time
	shown bool
	// quarter is the last quarter reported as a line (no animation).
	quarter int64
}

func newUploadProgress(s *term.Streams) *uploadProgress { return &uploadProgress{io: s} }

func (p *uploadProgress) Start(g upload.Group, attempt int, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.size, p.shown, p.quarter = size, false, 0
	what := fmt.Sprintf("%d package(s), %s", len(g.Files), humanBytes(size))
	if attempt > 1 {
		p.io.Infof("uploading %s/%s: %s (attempt %d)", g.Repo, g.Arch, what, attempt)
	} else {
		p.io.Infof("uploading %s/%s: %s", g.Repo, g.Arch, what)
	}
}

func (p *uploadProgress) Sent(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.size < 4<<20 {
		return
	}
	if !p.io.Animate() {
		// A CI log: one line per quarter, so a long upload is seen to move.
		if q := n * 4 / p.size; q > p.quarter {
			p.quarter = q
			p.io.Infof("  %s / %s (%d%%)", humanBytes(n), humanBytes(p.size), n*100/p.size)
		}
		return
	}
	now := time.Now()
	if n < p.size && now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	fmt.Fprintf(p.io.ErrOut, "\r  %s / %s (%d%%)", humanBytes(n), humanBytes(p.size), n*100/max(p.size, 1))
	p.shown = true
	if n >= p.size {
		fmt.Fprintln(p.io.ErrOut)
	}
}

func (p *uploadProgress) Retry(g upload.Group, err error, wait time.Duration) {
	p.io.Warnf("upload %s/%s: %v; retrying in %s", g.Repo, g.Arch, err, wait.Round(100*time.Millisecond))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
