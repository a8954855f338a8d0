package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/resolve"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// apkOptions are the options apkit add and apkit del share with apk.
type apkOptions struct {
	root           string
	initdb         bool
	arch           string
	repos          []string
	reposFile      string
	keysDir        string
	allowUntrusted bool
	noNetwork      bool
	noCache        bool
	simulate       bool
	noScripts      bool
	json           bool
	// apk's flags that change nothing here, accepted for apk users'
	// habits: indexes are always fetched fresh, and apkit never asks.
	updateCache, noProgress, noInteractive bool
}

type addOptions struct {
	apkOptions
	virtual string
	names   []string
}

type delOptions struct {
	apkOptions
	rdepends bool
	names    []string
}

// apkChangeJSON is one line of `apkit add --json` and `apkit del --json`:
// one per change of the plan, in the order they are made, or one line with
// error when the request cannot be met.
type apkChangeJSON struct {
	// Action is install, upgrade, downgrade, replace, remove or repin.
	Action string `json:"action,omitempty"`
	// Name and Version name the package installed, or removed.
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// OldVersion is the version replaced by an upgrade, downgrade or
	// replace.
	OldVersion string `json:"old_version,omitempty"`
	// Tag is the repository tag the package is pinned to, without '@'.
	Tag string `json:"tag,omitempty"`
	// Simulated is true with --simulate: nothing was changed.
	Simulated bool `json:"simulated,omitempty"`
	// Error is apk's explanation of why the request cannot be met.
	Error string `json:"error,omitempty"`
}

const addLong = `Install packages into a root, as apk add does: the same flags, the same
choices among providers and versions, the same order and the same output.
apkit add works on any Linux: it needs no apk on the host.

Each argument is a world item as apk takes it: a name, with a version
constraint (musl>=1.2, "busybox<1.37", so:libc.musl-x86_64.so.1) or a
repository tag (curl@edge). With --virtual NAME the arguments become the
dependencies of a package NAME made on the spot and added to the world, so
that "apkit del NAME" removes them together.

Repositories are those of the root's /etc/apk/repositories (or of
--repositories-file), then every -X. Each is a directory or an http(s) URL
holding <arch>/APKINDEX.tar.gz. An index must be signed by a trusted key:
Alpine's release keys for the architecture, the keys in --keys-dir and those
in the root's /etc/apk/keys (--allow-untrusted accepts an unsigned index).
Each package is checked against its index record before any of it is kept.

--initdb makes the root's database when it has none; with it, the keys of
--keys-dir are copied to the root's /etc/apk/keys. Package scripts run inside
the root under bubblewrap (--no-scripts skips them). Downloads are kept in
the cache directory (cache_dir, by default ~/.cache/apkit) under apk/;
--no-cache downloads to a temporary directory instead, and --no-network
uses only what is cached.

A request that cannot be met prints apk's explanation and exits with 1.`

func newAddCmd(app *App) *cobra.Command {
	opts := &addOptions{}
	cmd := &cobra.Command{
		Use:   "add [flags] PACKAGE...",
		Short: "Install packages into a root, as apk add does",
		Long:  addLong,
		Example: `  apkit add --root /tmp/alpine --initdb -X https://dl-cdn.alpinelinux.org/alpine/v3.22/main alpine-base
  apkit add --root /tmp/alpine --simulate curl
  apkit add --root rootfs --initdb --keys-dir ~/.abuild -X ~/packages/main hello
  apkit add --root rootfs -t .build-deps gcc make`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runAdd(cmd.Context(), app, opts)
		},
	}
	addAPKFlags(cmd, &opts.apkOptions)
	cmd.Flags().StringVarP(&opts.virtual, "virtual", "t", "", "install the packages as dependencies of a virtual package `NAME[=VERSION]`")
	return cmd
}

const delLong = `Remove packages from a root, as apk del does: each name is taken out of
the root's world, and the packages nothing in the world needs any more are
removed (their pre- and post-deinstall scripts run, their files and the
directories no package still owns go, the database forgets them). A name
still needed by another world item stays installed, and apk's note says
which world items keep it.

With -r (--rdepends) the installed packages that depend on a named package
are deleted too, recursively: each leaves the world, with the names it
provides, and is removed unless the rest of the world still needs it.

The flags are apk's, as for apkit add.`

func newDelCmd(app *App) *cobra.Command {
	opts := &delOptions{}
	cmd := &cobra.Command{
		Use:   "del [flags] PACKAGE...",
		Short: "Remove packages from a root, as apk del does",
		Long:  delLong,
		Example: `  apkit del --root /tmp/alpine curl
  apkit del --root rootfs .build-deps
  apkit del --root rootfs --simulate hello
  apkit del --root rootfs -r libfoo`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runDel(cmd.Context(), app, opts)
		},
	}
	addAPKFlags(cmd, &opts.apkOptions)
	cmd.Flags().BoolVarP(&opts.rdepends, "rdepends", "r", false, "also delete the installed packages that depend on those named, recursively")
	return cmd
}

func addAPKFlags(cmd *cobra.Command, o *apkOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.root, "root", "p", "/", "manage the root in `DIR`")
	f.BoolVar(&o.initdb, "initdb", false, "make the root's apk database if it has none")
	f.StringVar(&o.arch, "arch", "", "the root's `ARCH` (default: the root's /etc/apk/arch, else arch from config)")
	f.StringArrayVarP(&o.repos, "repository", "X", nil, "use the repository at `URL|DIR` too (repeatable)")
	f.StringVar(&o.reposFile, "repositories-file", "", "read repositories from `FILE` instead of the root's /etc/apk/repositories")
	f.StringVar(&o.keysDir, "keys-dir", "", "trust the public keys in `DIR` too")
	f.BoolVar(&o.allowUntrusted, "allow-untrusted", false, "accept indexes no trusted key signed")
	f.BoolVar(&o.noNetwork, "no-network", false, "do not use the network: take indexes and packages from the cache")
	f.BoolVar(&o.noCache, "no-cache", false, "do not keep downloads in the cache")
	f.BoolVarP(&o.simulate, "simulate", "s", false, "print what would be done, change nothing")
	f.BoolVar(&o.noScripts, "no-scripts", false, "do not run package scripts")
	f.BoolVar(&o.json, "json", false, "print one JSON object per change (JSON Lines)")
	f.BoolVarP(&o.updateCache, "update-cache", "U", false, "accepted as apk does; indexes are always fetched fresh unless --no-network")
	f.BoolVar(&o.noProgress, "no-progress", false, "accepted as apk does; apkit shows no progress bar here")
	f.BoolVar(&o.noInteractive, "no-interactive", false, "accepted as apk does; apkit never asks")
}

func runAdd(ctx context.Context, app *App, opts *addOptions) error {
	return runAPK(ctx, app, &opts.apkOptions, install.Request{Add: opts.names, Virtual: opts.virtual, Now: app.Now()})
}

func runDel(ctx context.Context, app *App, opts *delOptions) error {
	return runAPK(ctx, app, &opts.apkOptions, install.Request{Del: opts.names, Rdepends: opts.rdepends})
}

// gcHeapBound is the heap size up to which reading indexes and solving
// runs without garbage collection: several times what the largest Alpine
// repositories need together.
const gcHeapBound = 256 << 20

// maxInstallHeap bounds what installHeap reserves.
const maxInstallHeap = 64 << 20

// installHeap returns how much heap installing plan is reserved in huge
// pages (see reserveHugeHeap), or 0 for an install too small to gain from
// it: with the collector paused, unpacking leaves as garbage about the
// installed size of the packages plus a little per file, each page of it
// fresh.
func installHeap(plan *resolve.Plan) int {
	var size int64
	for _, c := range plan.Changes {
		switch c.Action() {
		case resolve.Install, resolve.Upgrade, resolve.Downgrade, resolve.Replace:
			size += max(c.New.InstalledSize, 0)
		}
	}
	if size < 1<<20 {
		return 0
	}
	return int(min(2*size+8<<20, maxInstallHeap))
}

// pauseGC stops garbage collection while indexes are read and solved and
// packages installed, unless GOGC or GOMEMLIMIT are set: nearly everything
// allocated while solving stays live until the plan is made, and what
// unpacking a package leaves is garbage at once, whose collection as it
// came cost an install of 25 packages a tenth of its time. Above
// gcHeapBound the collector runs as usual. The returned func restores the
// settings.
func pauseGC(app *App) (resume func()) {
	if app.Getenv("GOGC") != "" || app.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit := debug.SetMemoryLimit(gcHeapBound)
	percent := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// runAPK solves req in the root of opts and commits the plan unless
// --simulate, printing apk's lines or JSON.
func runAPK(ctx context.Context, app *App, opts *apkOptions, req install.Request) error {
	app.global.noPackager = true // add and del never name a packager
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	root := opts.root
	if _, err := os.Stat(filepath.Join(root, install.InstalledFile)); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if !opts.initdb {
			return fmt.Errorf("root %s: no apk database (%s): pass --initdb to make one", root, install.InstalledFile)
		}
	}
	arch := opts.arch
	if arch == "" {
		if data, err := os.ReadFile(filepath.Join(root, install.ArchFile)); err == nil && strings.TrimSpace(string(data)) != "" {
			arch = strings.TrimSpace(string(data))
		} else {
			arch = cfg.Arch
		}
	}
	if !apkbuild.KnownArch(arch) {
		return usageErrorf("--arch: %q is not an Alpine architecture (x86_64, aarch64, armv7, ...)", arch)
	}
	fetch := install.Fetch{
		Cache:          filepath.Join(cfg.CacheDir, "apk"),
		Offline:        opts.noNetwork,
		AllowUntrusted: opts.allowUntrusted,
	}
	if fetch.Client, err = app.HTTPClient(); err != nil {
		return err
	}
	if opts.noCache {
		tmp, err := os.MkdirTemp("", "apkit-add-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		fetch.Cache = tmp
	}
	lines, err := repositoryLines(root, opts)
	if err != nil {
		return err
	}
	kr, err := install.Keyring(root, arch, opts.keysDir, true)
	if err != nil {
		return err
	}
	// The collector stays paused until the command returns.
	defer pauseGC(app)()
	solver, err := install.NewSolver(root, arch)
	if err != nil {
		return err
	}
	// With the collector paused, growing the heap does not start a
	// collection of its own.
	solver.BeforeIndex = reserveForIndex
	for _, l := range lines {
		if _, err := solver.Open(ctx, l.url, l.tag, kr, &fetch); err != nil {
			if errors.Is(err, sign.ErrUntrusted) || errors.Is(err, sign.ErrBadSignature) {
				return verifyFailed(err)
			}
			return err
		}
	}
	repos := solver.Repositories()
	plan, err := solver.Solve(req)
	var uerr *resolve.UnsatisfiableError
	if errors.As(err, &uerr) {
		if opts.json {
			if jerr := writeJSONLine(app.IO.Out, apkChangeJSON{Error: err.Error()}); jerr != nil {
				return jerr
			}
		} else {
			fmt.Fprintf(app.IO.ErrOut, "ERROR: %v\n", err)
		}
		return &silentError{code: ExitFailure}
	}
	var nerr *install.NoSuchPackageError
	if errors.As(err, &nerr) {
		for _, n := range nerr.Names {
			if opts.json {
				if jerr := writeJSONLine(app.IO.Out, apkChangeJSON{Name: n, Error: "no such package"}); jerr != nil {
					return jerr
				}
			} else {
				fmt.Fprintf(app.IO.ErrOut, "ERROR: No such package: %s\n", n)
			}
		}
		return &silentError{code: ExitFailure}
	}
	if err != nil {
		return err
	}
	// The plan's lines, a few hundred for a build root, are written at
	// once, before anything is installed.
	w := bufio.NewWriter(app.IO.Out)
	out := plan.Lines()
	if !opts.json {
		for _, l := range plan.KeptLines() {
			fmt.Fprintln(w, l)
		}
	}
	if opts.json {
		for _, c := range plan.Changes {
			j := changeJSON(c)
			if j.Action == "" {
				continue
			}
			j.Simulated = opts.simulate
			if err := writeJSONLine(w, j); err != nil {
				return err
			}
		}
	} else {
		for _, l := range out[:len(out)-1] {
			fmt.Fprintln(w, l)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if !opts.simulate {
		if n := installHeap(plan); n > 0 {
			reserveHugeHeap(n)
		}
		iopts := &install.Options{
			Arch:      arch,
			Fetch:     fetch,
			NoScripts: opts.noScripts,
			Log:       func(msg string) { fmt.Fprintln(app.IO.ErrOut, msg) },
		}
		if opts.initdb {
			iopts.Keys, err = keyFiles(opts.keysDir)
			if err != nil {
				return err
			}
		}
		if _, err := install.Commit(ctx, root, plan, repos, iopts); err != nil {
			return err
		}
	}
	if !opts.json {
		fmt.Fprintln(app.IO.Out, out[len(out)-1])
	}
	return nil
}

// changeJSON turns a change into its JSON line; Action is "" for a package
// kept as it is.
func changeJSON(c resolve.Change) apkChangeJSON {
	actions := map[resolve.Action]string{
		resolve.Install: "install", resolve.Remove: "remove", resolve.Upgrade: "upgrade",
		resolve.Downgrade: "downgrade", resolve.Replace: "replace", resolve.Repin: "repin",
	}
	a := c.Action()
	j := apkChangeJSON{Action: actions[a], Tag: c.NewTag}
	switch {
	case c.New == nil:
		j.Name, j.Version, j.Tag = c.Old.Name, c.Old.Version, c.OldTag
	default:
		j.Name, j.Version = c.New.Name, c.New.Version
		if a == resolve.Upgrade || a == resolve.Downgrade || a == resolve.Replace {
			j.OldVersion = c.Old.Version
		}
	}
	return j
}

// repoLine is one repository: its URL or directory and its tag.
type repoLine struct{ tag, url string }

// repositoryLines returns the repositories of the root's
// /etc/apk/repositories (or --repositories-file), then those of -X, as apk
// reads them: blank lines and # comments skipped, "@tag URL" tagged.
func repositoryLines(root string, opts *apkOptions) ([]repoLine, error) {
	file, explicit := filepath.Join(root, install.RepositoriesFile), false
	if opts.reposFile != "" {
		file, explicit = opts.reposFile, true
	}
	var out []repoLine
	f, err := os.Open(file)
	switch {
	case err == nil:
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			l := strings.TrimSpace(sc.Text())
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			var r repoLine
			if strings.HasPrefix(l, "@") {
				tag, u, ok := strings.Cut(l, " ")
				if !ok || strings.TrimSpace(u) == "" {
					return nil, fmt.Errorf("%s:%d: a tag without a repository", file, n)
				}
				r = repoLine{tag: tag[1:], url: strings.TrimSpace(u)}
			} else {
				r = repoLine{url: l}
			}
			out = append(out, r)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("--repositories-file: %w", err)
	}
	for _, u := range opts.repos {
		out = append(out, repoLine{url: u})
	}
	if len(out) == 0 {
		return nil, usageErrorf("no repositories: give -X URL|DIR, or list them in %s", file)
	}
	return out, nil
}

// keyFiles returns the public keys of dir, to copy into a new root.
func keyFiles(dir string) ([]install.KeyFile, error) {
	if dir == "" {
		return nil, nil
	}
	kr, err := sign.LoadKeyring(dir)
	if err != nil {
		return nil, err
	}
	var keys []install.KeyFile
	for _, name := range kr.Names() {
		data, err := os.ReadFile(filepath.Join(kr.Dir(name), name))
		if err != nil {
			return nil, fmt.Errorf("--keys-dir: %w", err)
		}
		keys = append(keys, install.KeyFile{Name: name, Data: data})
	}
	return keys, nil
}
