package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/build"
	"github.com/apkit-dev/apkit/pkg/graph"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sandbox"
	"github.com/apkit-dev/apkit/pkg/source"
)

type buildOptions struct {
	paths    []string
	repodest string
	repo     string
	key      string
	noCheck  bool
	noDeps   bool
	keep     bool
	replace  bool
	jobs     int
	offline  bool
	sandbox  string
	rootfs   string
	alpine   string
	phases   string
	json     bool
	// force builds recipes that are up to date; keepGoing goes on after a
	// failure with the recipes that do not depend on it.
	force, keepGoing bool
	// changedSince is a git revision: only the recipes changed since,
	// and those that depend on them.
	changedSince string
	// parallel is how many recipes may build at once.
	parallel int
	// pathPrepend are --path-prepend's directories (each may be a
	// colon-separated list).
	pathPrepend []string
	// abuild's -c and -m (colour on, off) and -r (install dependencies,
	// which apkit always does).
	colorAlways, colorNever, abuildR bool

	repodestSet bool // --repodest was given, maybe empty
}

// buildRecipeJSON is one line of `apkit build --json`: one per recipe,
// printed as its build ends.
type buildRecipeJSON struct {
	Dir      string          `json:"dir"`
	Pkgname  string          `json:"pkgname"`
	Skipped  string          `json:"skipped,omitempty"`
	Packages []build.Package `json:"packages"`
	Log      string          `json:"log"`
	// Error and Phase say why and where the recipe's build failed;
	// without --keep-going, the recipes after it were not built.
	Error string `json:"error,omitempty"`
	Phase string `json:"phase,omitempty"`
	// NotBuilt names the recipe whose failed build kept this one, which
	// depends on it, from being built (--keep-going).
	NotBuilt string `json:"not_built,omitempty"`
	// ForeignLibc lists packages linking a C library other than musl.
	ForeignLibc []build.ForeignLibc `json:"foreign_libc,omitempty"`
}

func newBuildCmd(app *App) *cobra.Command {
	opts := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [PATH...]",
		Short: "Build recipes into signed packages in a local repository",
		Long: `Build each recipe directory (or its APKBUILD; default: the current
directory) the way "abuild -r" does: install build dependencies, fetch and
verify sources, unpack, prepare, build, check, package and split into
subpackages, then strip, check and trace every package, write signed .apk
files and add them to REPODEST/<repo>/<arch>/ with the index updated and
signed.

Several recipes, or a directory of recipes (every */APKBUILD below it, in
aports' layout <repo>/<pkg>/APKBUILD or flat: "apkit build main/"), are
built in dependency order, the order "apkit plan" prints. Of several, a
recipe that is up to date (its packages all in REPODEST at its
pkgver-pkgrel) is skipped and says so; --force (-f) builds it again. The
first failure stops the build; with --keep-going, only the recipes that
depend on the failed one are not built. --changed-since REV builds only
the recipes with a file changed since the git revision REV, and those that
depend on them. --parallel N builds up to N recipes at once when none
depends on another, each in its own sandbox, sharing the --jobs budget
(JOBS and MAKEFLAGS are divided among them); each line of their output
starts with the recipe's name. A build of several ends with a summary on
stderr: built, up to date, failed (with the phase), not built (and why);
the exit status is 1 when anything failed. (A single recipe is always
built, as are runs of some --phases and builds with --replace.)

The recipe's functions run in a bubblewrap sandbox (--sandbox auto probes
for it and falls back, with a warning, to a plain process): the build root is
read-only, only the recipe's src, pkg and tmp directories are writable, and
there is no network unless the recipe's options contain "net".

--phases runs only some phases, in pipeline order: deps, fetch, verify,
unpack, prepare, build, check, package, index (or "all", "rootpkg"). Without
index, the packages stay in the recipe's tmp/.apkit/out until a later
"--phases index" adds them to the repository. Without unpack, prepare, build,
check and package need the sources an earlier run unpacked (a finished build
removes them unless --keep).

The recipe's output streams to stderr and is kept in build.log beside the
recipe's work directories. A failed build leaves the repository untouched.

A package whose file is already in the repository with different contents
(a rebuild of the same pkgver and pkgrel) fails the build unless --replace
is given, which replaces it as abuild does; raising pkgrel is the way to
publish a changed package to others.

abuild's flags -P DIR, -d, -f, -K, -c, -m and -r work as they do in abuild; for
its other flags and verbs apkit says what to use instead (docs/from-abuild.md
has the table).`,
		Example: `  apkit build
  apkit build examples/main/greet --repodest ./packages
  apkit build --no-check --keep ./my-recipe
  apkit build --phases unpack,prepare ./my-recipe
  apkit build --json main/*/
  apkit build --keep-going --parallel 2 aports/main`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			opts.repodestSet = cmd.Flags().Changed("repodest")
			return runBuild(cmd.Context(), app, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("sandbox", cobra.FixedCompletions([]string{"auto", "bwrap", "none"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("phases", completePhases)
	_ = cmd.RegisterFlagCompletionFunc("rootfs", dirCompletion)
	_ = cmd.RegisterFlagCompletionFunc("repodest", dirCompletion)
	return cmd
}

// completePhases completes the comma-separated list of --phases: after
// the last comma, the phases not already in the list.
func completePhases(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	prefix := ""
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		prefix = toComplete[:i+1]
	}
	given := strings.Split(strings.TrimSuffix(prefix, ","), ",")
	var out []string
	for _, p := range build.AllPhases {
		if !slices.Contains(given, string(p)) {
			out = append(out, prefix+string(p))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// dirCompletion completes directory names.
func dirCompletion(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// addFlags binds the build flags to o.
func (o *buildOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.repodest, "repodest", "P", "", "`dir` that holds the local repositories (default: repodest from config or abuild.conf, else ~/packages)")
	f.StringVar(&o.repo, "repo", "", "repository `name` (default: the name of the recipe directory's parent)")
	f.StringVarP(&o.key, "key", "k", "", "private key `file` that signs packages and the index (default: the configured signing_key)")
	f.BoolVar(&o.noCheck, "no-check", false, "do not run check()")
	f.BoolVarP(&o.noDeps, "no-deps", "d", false, "go on when build dependencies are missing")
	f.BoolVarP(&o.keep, "keep", "K", false, "keep the work directories (src, pkg, tmp) after a successful build")
	f.BoolVar(&o.replace, "replace", false, "replace packages of the same version already in the repository (as abuild does)")
	f.IntVarP(&o.jobs, "jobs", "j", 0, "run `n` jobs at once: JOBS and MAKEFLAGS=-jN (default: from config, else the number of CPUs)")
	f.BoolVar(&o.offline, "offline", false, "use only the source cache, never the network")
	f.StringVar(&o.sandbox, "sandbox", "auto", "isolation `mode`: auto, bwrap or none")
	f.StringVar(&o.rootfs, "rootfs", "", "read-only build root `dir` for the sandbox, e.g. an Alpine minirootfs (default: /)")
	f.StringVar(&o.alpine, "alpine", "", "build in an Alpine `release` root (edge, v3.22, ...) apkit installs from the mirror and caches (default: alpine from config)")
	f.StringVar(&o.phases, "phases", "", "run only these `phases` (comma-separated)")
	f.StringArrayVar(&o.pathPrepend, "path-prepend", nil, "put `dir` before PATH in the sandbox and bind it read-only, e.g. /usr/local/go/bin (repeatable; default: path_prepend from config)")
	f.BoolVar(&o.json, "json", false, "print JSON")
	f.BoolVarP(&o.force, "force", "f", false, "build recipes whose packages are already in the repository at their version")
	f.BoolVar(&o.keepGoing, "keep-going", false, "after a failure, go on with the recipes that do not depend on it")
	f.StringVar(&o.changedSince, "changed-since", "", "only the recipes changed since the git `revision`, and those that depend on them")
	f.IntVar(&o.parallel, "parallel", 1, "build up to `n` recipes at once when none depends on another; they share the --jobs budget")
	// abuild's flags of the same meaning, for abuild's users' habits;
	// docs/from-abuild.md documents them.
	f.BoolVarP(&o.colorAlways, "abuild-color", "c", false, "colour output, as abuild -c (--color always)")
	f.BoolVarP(&o.colorNever, "abuild-monochrome", "m", false, "no colour, as abuild -m (--color never)")
	f.BoolVarP(&o.abuildR, "abuild-install-deps", "r", false, "accepted for abuild -r: apkit build always installs build dependencies it can")
	for _, name := range []string{"abuild-color", "abuild-monochrome", "abuild-install-deps"} {
		_ = f.MarkHidden(name)
	}
}

func runBuild(ctx context.Context, app *App, opts *buildOptions) error {
	mode, err := sandbox.ParseMode(opts.sandbox)
	if err != nil {
		return usageErrorf("--sandbox: %v", err)
	}
	phases, err := build.ParsePhases(opts.phases)
	if err != nil {
		return usageErrorf("--phases: %v", err)
	}
	switch {
	case opts.colorAlways && opts.colorNever:
		return usageErrorf("-c and -m cannot be used together")
	case opts.colorAlways:
		app.IO.SetColorMode(term.ColorAlways)
	case opts.colorNever:
		app.IO.SetColorMode(term.ColorNever)
	}
	if opts.jobs < 0 {
		return usageErrorf("--jobs: %d is not a positive number", opts.jobs)
	}
	if opts.parallel < 1 {
		return usageErrorf("--parallel: %d is not a positive number", opts.parallel)
	}
	// The repository is a directory under REPODEST and a name on the
	// server: the same rule as apkit upload's --repo.
	if opts.repo != "" && !plainName(opts.repo) {
		return usageErrorf("--repo: %q is not a plain name (letters, digits, and . _ - + not first)", opts.repo)
	}
	// An unset variable in a Makefile (--repodest=$(REPODEST)) must not
	// publish to the default place.
	if opts.repodestSet && opts.repodest == "" {
		return usageErrorf("--repodest: empty value: give a directory, or leave the flag out to use the configured one")
	}
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	dirs, tree, err := expandRecipeTree(recipePaths(opts.paths))
	if err != nil {
		// abuild's verbs are phases here: "apkit build unpack".
		var nr *noRecipeError
		if errors.As(err, &nr) && nr.missing {
			if _, perr := build.ParsePhases(nr.path); perr == nil {
				return fmt.Errorf("%w; to run abuild %s, use apkit build --phases %s", err, nr.path, nr.path)
			}
		}
		return err
	}
	alpine := firstNonEmpty(opts.alpine, cfg.Alpine)
	if alpine != "" {
		if !validAlpine(alpine) {
			return usageErrorf("--alpine: %q is not an Alpine release (edge, v3.22, ...)", alpine)
		}
		if opts.rootfs != "" {
			return usageErrorf("--alpine and --rootfs cannot be used together: --alpine makes the build root")
		}
		if mode == sandbox.ModeNone {
			return usageErrorf("--alpine needs the bwrap sandbox, not --sandbox none")
		}
	}
	runner, warning, err := sandbox.Select(ctx, sandbox.Options{Mode: mode, RootFS: opts.rootfs})
	if err != nil {
		return err
	}
	if warning != "" {
		app.IO.Warnf("%s", warning)
	}
	bo, err := pipelineOptions(cfg, opts, phases)
	if err != nil {
		return err
	}
	for _, d := range bo.PathPrepend {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			app.IO.Warnf("path_prepend: %s is not a directory here: it is on the sandbox's PATH, but nothing is bound there", d)
		}
	}
	// As abuild, an exported SOURCE_DATE_EPOCH or ABUILD_LAST_COMMIT wins.
	for _, k := range []string{"SOURCE_DATE_EPOCH", "ABUILD_LAST_COMMIT"} {
		if v := app.Getenv(k); v != "" {
			if bo.Env == nil {
				bo.Env = map[string]string{}
			}
			bo.Env[k] = v
		}
	}
	if bo.Key != "" && (len(phases) == 0 || slices.Contains(phases, build.PhasePackage) || slices.Contains(phases, build.PhaseIndex)) {
		if err := checkKeyExists(cfg, bo.Key, opts.key != ""); err != nil {
			return err
		}
	}
	// Find an unusable repository before building, not after.
	if bo.Repodest != "" && (len(phases) == 0 || slices.Contains(phases, build.PhaseIndex)) {
		if err := checkWritableDir(bo.Repodest); err != nil {
			return fmt.Errorf("repodest %s: %w", bo.Repodest, err)
		}
	}
	bo.Runner = runner
	bo.Hide = privateHidden(app)
	if bo.Key != "" {
		bo.Passphrase = passphraseFunc(app, bo.Key)
	}
	if !app.IO.Quiet() {
		bo.Output = app.IO.ErrOut
	}
	// The recipes in dependency order; recipes that cannot be read come
	// first, for their builds to say what is wrong.
	g, unread, err := loadGraph(ctx, dirs, graphOptions{arch: bo.Arch, repo: opts.repo, repodest: bo.Repodest})
	if err != nil {
		return err
	}
	if err := reportCycles(app, g, false); err != nil {
		return err
	}
	var sel []bool
	if opts.changedSince != "" {
		if sel, err = changedSince(ctx, g, opts.changedSince); err != nil {
			return err
		}
	}
	// Packages that link another C library than musl are named in one
	// warning at the end, for all the recipes built.
	var foreign []build.ForeignLibc
	defer func() {
		if w := foreignLibcWarning(foreign); w != "" {
			app.IO.Warnf("%s", w)
		}
	}()
	// A recipe is skipped when up to date in a build of several: one
	// recipe is built when asked for, as are a run of some phases, and
	// --replace, which is a rebuild.
	skipUpToDate := !opts.force && !opts.replace && len(phases) == len(build.AllPhases) && bo.Repodest != "" && (tree || len(dirs) > 1 || opts.changedSince != "")
	var jobs []buildJob
	for _, u := range unread {
		if g.Lookup(u.path) < 0 {
			jobs = append(jobs, buildJob{dir: u.path, node: -1})
		}
	}
	for _, i := range g.Order {
		if sel == nil || sel[i] {
			jobs = append(jobs, buildJob{dir: g.Nodes[i].Dir, node: i})
		}
	}
	if sel != nil && len(jobs) == 0 {
		app.IO.Infof("no recipe changed since %s: nothing to build", opts.changedSince)
	}
	// With --alpine, each build gets its own view of the cached root.
	var setRoot func(dir string, bo *build.Options)
	if alpine != "" {
		held := &heldRoots{}
		defer held.release()
		setRoot = func(dir string, o *build.Options) { o.Root = alpineRoot(app, cfg, alpine, mode, dir, o, held) }
	}
	return buildJobs(ctx, app, opts, g, jobs, bo, skipUpToDate, setRoot, &foreign)
}

// buildJob is one recipe of a build of several.
type buildJob struct {
	dir  string
	node int // the recipe's node in the graph, -1 for one that could not be read
}

// buildJobs builds jobs, in their order (a dependency order), up to
// opts.parallel at once: a recipe starts when the recipes it depends on
// among jobs are done. Up-to-date recipes are skipped when skipUpToDate,
// and after a failure, without --keep-going, nothing more starts; with
// it, what depends on the failed recipe is not built.
// setRoot, when not nil, sets a build's root.
func buildJobs(ctx context.Context, app *App, opts *buildOptions, g *graph.Graph, jobs []buildJob, bo build.Options, skipUpToDate bool, setRoot func(string, *build.Options), foreign *[]build.ForeignLibc) error {
	parallel := max(opts.parallel, 1)
	if parallel > 1 && bo.Jobs > 0 {
		// The builds share the JOBS budget.
		per := max(bo.Jobs/parallel, 1)
		if bo.Makeflags == "" || bo.Makeflags == fmt.Sprintf("-j%d", bo.Jobs) {
			bo.Makeflags = fmt.Sprintf("-j%d", per)
		}
		bo.Jobs = per
	}
	sum := &buildSummary{}
	// cause holds, by node, the directory of the failed build that keeps
	// it from being built ("" when nothing does); done marks the nodes
	// whose turn is over; wanted those among jobs.
	cause := make([]string, len(g.Nodes))
	done := make([]bool, len(g.Nodes))
	wanted := make([]bool, len(g.Nodes))
	for _, j := range jobs {
		if j.node >= 0 {
			wanted[j.node] = true
		}
	}
	ready := func(j buildJob) bool {
		if j.node < 0 {
			return true
		}
		for _, e := range g.Nodes[j.node].Edges {
			if !e.Broken && wanted[e.To] && !done[e.To] {
				return false
			}
		}
		return true
	}
	type outcome struct {
		k   int
		res *build.Result
		err error
	}
	results := make(chan outcome)
	started := make([]bool, len(jobs))
	first, running := 0, 0
	var firstErr, stopErr error
	for {
		// Start what can start, in order; skip what needs no build.
		for k := first; k < len(jobs) && running < parallel && stopErr == nil; k++ {
			j := jobs[k]
			if started[k] || !ready(j) {
				continue
			}
			started[k] = true
			if k == first {
				for first < len(jobs) && started[first] {
					first++
				}
			}
			if j.node >= 0 {
				n := &g.Nodes[j.node]
				for _, e := range n.Edges {
					if !e.Broken && cause[e.To] != "" {
						cause[j.node] = cause[e.To]
						break
					}
				}
				if c := cause[j.node]; c != "" {
					done[j.node] = true
					sum.blocked = append(sum.blocked, [2]string{j.dir, c})
					app.IO.Infof("%s: not built: it depends on %s, whose build failed", n.Pkgname, c)
					if opts.json {
						if err := writeJSONLine(app.IO.Out, buildRecipeJSON{Dir: j.dir, Pkgname: n.Pkgname, Packages: []build.Package{}, NotBuilt: c}); err != nil {
							return err
						}
					}
					continue
				}
				if skipUpToDate && n.UpToDate {
					done[j.node] = true
					why := fmt.Sprintf("up to date: %s %s is in %s", n.Pkgname, n.Version, filepath.Join(bo.Repodest, n.Repo, bo.Arch))
					sum.upToDate = append(sum.upToDate, j.dir)
					app.IO.Infof("%s: %s (--force builds it again)", n.Pkgname, why)
					if opts.json {
						if err := writeJSONLine(app.IO.Out, buildRecipeJSON{Dir: j.dir, Pkgname: n.Pkgname, Skipped: why, Packages: []build.Package{}}); err != nil {
							return err
						}
					}
					continue
				}
			}
			running++
			jbo := bo
			progress := newBuildProgress(app.IO, j.dir)
			jbo.Progress = progress
			if setRoot != nil {
				setRoot(j.dir, &jbo)
			}
			var pw *prefixWriter
			if parallel > 1 && jbo.Output != nil {
				// The outputs of builds at once read apart by name.
				pw = &prefixWriter{w: jbo.Output, prefix: progress.label + ": "}
				jbo.Output = pw
			}
			go func(k int) {
				res, err := build.Build(ctx, jobs[k].dir, jbo)
				if pw != nil {
					pw.Flush()
				}
				results <- outcome{k, res, err}
			}(k)
		}
		if running == 0 {
			break
		}
		o := <-results
		running--
		p, node := jobs[o.k].dir, jobs[o.k].node
		if node >= 0 {
			done[node] = true
		}
		if o.err != nil {
			var pe *build.PhaseError
			errors.As(o.err, &pe)
			err := buildHint(buildFailed(app, p, o.err))
			r := buildRecipeJSON{Dir: p, Packages: []build.Package{}, Error: err.Error()}
			if o.res != nil {
				r.Pkgname, r.Log = o.res.Pkgname, o.res.Log
			}
			if pe != nil {
				r.Phase, r.Log = pe.Phase, pe.Log
			}
			if opts.json {
				if jerr := writeJSONLine(app.IO.Out, r); jerr != nil {
					return jerr
				}
			}
			sum.failed = append(sum.failed, [2]string{p, r.Phase})
			if node >= 0 {
				cause[node] = p
			}
			if !opts.keepGoing || ctx.Err() != nil {
				// The first failure is the error; builds still running
				// end, and nothing more starts.
				if stopErr == nil {
					stopErr = err
				} else {
					fmt.Fprintf(app.IO.ErrOut, "apkit: %v\n", err)
				}
				continue
			}
			fmt.Fprintf(app.IO.ErrOut, "apkit: %v\n", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		res := o.res
		*foreign = append(*foreign, res.ForeignLibc...)
		sum.built = append(sum.built, p)
		r := buildRecipeJSON{Dir: p, Pkgname: res.Pkgname, Skipped: res.Skipped, Packages: res.Packages, Log: res.Log, ForeignLibc: res.ForeignLibc}
		if r.Packages == nil {
			r.Packages = []build.Package{}
		}
		if opts.json {
			if err := writeJSONLine(app.IO.Out, r); err != nil {
				return err
			}
		} else {
			for _, pkg := range res.Packages {
				fmt.Fprintln(app.IO.Out, pkg.Path)
			}
		}
	}
	if stopErr != nil {
		for k, j := range jobs {
			if !started[k] {
				sum.stopped = append(sum.stopped, j.dir)
			}
		}
		if len(jobs) > 1 {
			sum.print(app)
		}
		return stopErr
	}
	if len(jobs) > 1 {
		sum.print(app)
	}
	if firstErr != nil {
		code := ExitFailure
		var verify *verifyError
		if errors.As(firstErr, &verify) {
			code = ExitVerify
		}
		return &silentError{code: code}
	}
	return nil
}

// prefixWriter writes each line written to it to w, whole, after prefix.
// It is safe for concurrent use.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	part   []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.part = append(p.part, b...)
			break
		}
		line := make([]byte, 0, len(p.prefix)+len(p.part)+i+1)
		line = append(append(append(line, p.prefix...), p.part...), b[:i+1]...)
		p.part = p.part[:0]
		if _, err := p.w.Write(line); err != nil {
			return 0, err
		}
		b = b[i+1:]
	}
	return n, nil
}

// Flush writes an unfinished last line, ended.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.part) > 0 {
		_, _ = p.w.Write([]byte(p.prefix + string(p.part) + "\n"))
		p.part = p.part[:0]
	}
}

// buildSummary is what happened to each recipe of a build of several.
type buildSummary struct {
	built, upToDate, stopped []string
	// failed holds directory and phase; blocked the directory and that of
	// the failed build it depends on.
	failed, blocked [][2]string
}

// print writes the summary to stderr: a line per outcome that happened.
func (s *buildSummary) print(app *App) {
	w := app.IO.ErrOut
	if len(s.built) > 0 {
		fmt.Fprintf(w, "built: %s\n", strings.Join(s.built, " "))
	}
	if len(s.upToDate) > 0 {
		fmt.Fprintf(w, "up to date, not built: %s\n", strings.Join(s.upToDate, " "))
	}
	for _, f := range s.failed {
		if f[1] != "" {
			fmt.Fprintf(w, "failed: %s (phase %s)\n", f[0], f[1])
		} else {
			fmt.Fprintf(w, "failed: %s\n", f[0])
		}
	}
	for _, b := range s.blocked {
		fmt.Fprintf(w, "not built: %s (depends on %s, which failed)\n", b[0], b[1])
	}
	if len(s.stopped) > 0 {
		fmt.Fprintf(w, "not built: %s (stopped at the first failure; --keep-going goes on)\n", strings.Join(s.stopped, " "))
	}
}

// pipelineOptions turns the flags and the configuration into the
// pipeline's options (runner, streams and hidden paths aside).
func pipelineOptions(cfg *config.Config, opts *buildOptions, phases []build.Phase) (build.Options, error) {
	bo := build.Options{
		Arch:            cfg.Arch,
		Repodest:        firstNonEmpty(opts.repodest, cfg.Repodest),
		Repo:            opts.repo,
		Srcdest:         cfg.Srcdest,
		DistfilesMirror: cfg.DistfilesMirror,
		Key:             firstNonEmpty(opts.key, cfg.SigningKey),
		Packager:        cfg.Packager,
		Jobs:            cfg.Jobs,
		Makeflags:       cfg.Makeflags,
		Phases:          phases,
		NoCheck:         opts.noCheck,
		NoDeps:          opts.noDeps,
		Keep:            opts.keep,
		Replace:         opts.replace,
		Offline:         opts.offline,
		RootFS:          opts.rootfs,
		PathPrepend:     cfg.PathPrepend,
	}
	if len(opts.pathPrepend) > 0 {
		bo.PathPrepend = nil
		for _, list := range opts.pathPrepend {
			for _, d := range filepath.SplitList(list) {
				if d == "" {
					continue
				}
				abs, err := filepath.Abs(d)
				if err != nil {
					return bo, err
				}
				bo.PathPrepend = append(bo.PathPrepend, abs)
			}
		}
	}
	if bo.Repodest != "" {
		var err error
		if bo.Repodest, err = filepath.Abs(bo.Repodest); err != nil {
			return bo, err
		}
	}
	if opts.jobs > 0 {
		bo.Jobs = opts.jobs
		bo.Makeflags = fmt.Sprintf("-j%d", opts.jobs)
	}
	return bo, nil
}

// buildFailed reports a failed build: the phase that failed and, when the
// output was not already shown, its last lines.
func buildFailed(app *App, path string, err error) error {
	var pe *build.PhaseError
	// The output was not shown (-q), or is folded away in a collapsed
	// GitLab CI section: repeat its end.
	if errors.As(err, &pe) && (app.IO.Quiet() || app.IO.InGitLabCI()) && len(pe.Tail) > 0 {
		fmt.Fprintf(app.IO.ErrOut, "last lines of %s:\n", pe.Log)
		for _, l := range pe.Tail {
			fmt.Fprintf(app.IO.ErrOut, "  %s\n", l)
		}
	}
	if pe != nil {
		// A source checksum mismatch is a verification failure (exit 3),
		// as in apkit fetch.
		if errors.Is(pe, source.ErrChecksumMismatch) {
			return verifyFailed(checksumHint(fmt.Errorf("build %s: phase %s failed: %w", path, pe.Phase, pe.Err)))
		}
		if errors.Is(pe, repo.ErrConflict) {
			return fmt.Errorf("build %s: phase %s; to publish a new build, raise pkgrel (apkit bump --pkgrel %s), or pass --replace to overwrite it", path, pe.Error(), path)
		}
		return fmt.Errorf("build %s: phase %w", path, pe)
	}
	// Some of the pipeline's errors name the recipe already.
	if strings.HasPrefix(err.Error(), "build "+path+": ") {
		return err
	}
	return fmt.Errorf("build %s: %w", path, err)
}

// buildHint adds to err what to do on the command line about the
// pipeline's errors that call for it.
func buildHint(err error) error {
	switch {
	case errors.Is(err, build.ErrNoKey):
		return fmt.Errorf("%w: create one with apkit keygen, or pass --key", err)
	case errors.Is(err, build.ErrNoRepodest):
		return fmt.Errorf("%w: set --repodest", err)
	case errors.Is(err, build.ErrMissingDeps):
		return fmt.Errorf("%w; ways forward: build in an Alpine root apkit installs with them from Alpine's mirror with --alpine RELEASE (e.g. --alpine edge), "+
			"install them on this host and pass --no-deps (-d), "+
			"or build in an Alpine root that has them with --rootfs DIR", err)
	case errors.Is(err, build.ErrNoChecksum), errors.Is(err, build.ErrStaleChecksums):
		return fmt.Errorf("%w; %s", err, checksumFix)
	}
	return err
}

// foreignLibcWarning is the one warning about packages that link a C
// library other than musl ("" when there are none).
func foreignLibcWarning(links []build.ForeignLibc) string {
	if len(links) == 0 {
		return ""
	}
	var libs []string
	pkgs := map[string][]string{}
	for _, l := range links {
		if _, ok := pkgs[l.Library]; !ok {
			libs = append(libs, l.Library)
		}
		if !slices.Contains(pkgs[l.Library], l.Package) {
			pkgs[l.Library] = append(pkgs[l.Library], l.Package)
		}
	}
	var parts []string
	for _, lib := range libs {
		parts = append(parts, fmt.Sprintf("%s link %s", strings.Join(pkgs[lib], ", "), lib))
	}
	return fmt.Sprintf("%s, a C library other than Alpine's musl: Alpine cannot install these packages (nothing there provides so:%s); "+
		"build them with --alpine RELEASE (e.g. --alpine edge), in an Alpine root apkit installs from Alpine's mirror, or on Alpine",
		strings.Join(parts, "; "), strings.Join(libs, ", so:"))
}

// privateHidden lists the user's key and configuration directories, which
// the sandbox hides.
func privateHidden(app *App) []string {
	home := app.Getenv("HOME")
	var out []string
	if home != "" {
		out = append(out, filepath.Join(home, ".abuild"), filepath.Join(home, ".config", "abuild"), filepath.Join(home, ".config", "apkit"), filepath.Join(home, ".ssh"), filepath.Join(home, ".gnupg"))
	}
	if x := app.Getenv("XDG_CONFIG_HOME"); x != "" {
		out = append(out, filepath.Join(x, "abuild"), filepath.Join(x, "apkit"))
	}
	var existing []string
	for _, p := range out {
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		}
	}
	return existing
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// buildProgress shows phases as sections (collapsible on GitLab CI), and
// labels every line with the recipe's name, as abuild's ">>> pkgname:"
// does, so that the logs of several recipes read apart.
type buildProgress struct {
	io *term.Streams
	// label names the recipe: its directory's name until the APKBUILD is
	// read, then its pkgname.
	label string
}

// newBuildProgress returns the progress of the recipe in dir.
func newBuildProgress(io *term.Streams, dir string) *buildProgress {
	label := filepath.Base(dir)
	if abs, err := filepath.Abs(dir); err == nil {
		label = filepath.Base(abs)
	}
	return &buildProgress{io: io, label: label}
}

// RecipeName implements build.RecipeNamer.
func (p *buildProgress) RecipeName(pkgname string) { p.label = pkgname }

// StartPhase opens the section apkit_<phase>_<pkgname>, titled
// "<pkgname>: <title>".
func (p *buildProgress) StartPhase(name, title string) func(error) {
	sec := p.io.StartSection("apkit_"+sanitizeSection(name)+"_"+sanitizeSection(p.label), p.label+": "+title)
	return func(err error) {
		d := sec.End()
		if err == nil {
			p.io.Verbosef("%s: %s done in %s", p.label, name, d.Round(time.Millisecond))
		}
	}
}

func (p *buildProgress) Warn(msg string) { p.io.Warnf("%s", p.labelled(msg)) }
func (p *buildProgress) Info(msg string) { p.io.Infof("%s", p.labelled(msg)) }

// labelled puts the recipe's name before msg, unless msg starts with it.
func (p *buildProgress) labelled(msg string) string {
	if strings.HasPrefix(msg, p.label+": ") {
		return msg
	}
	return p.label + ": " + msg
}

func sanitizeSection(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}
