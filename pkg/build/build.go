package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/sandbox"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// Phase names one step of the pipeline, in abuild's order.
type Phase string

// The phases of a build, in the order they run.
const (
	PhaseDeps    Phase = "deps"
	PhaseFetch   Phase = "fetch"
	PhaseVerify  Phase = "verify"
	PhaseUnpack  Phase = "unpack"
	PhasePrepare Phase = "prepare"
	PhaseBuild   Phase = "build"
	PhaseCheck   Phase = "check"
	PhasePackage Phase = "package"
	PhaseIndex   Phase = "index"
)

// AllPhases lists every phase in order.
var AllPhases = []Phase{PhaseDeps, PhaseFetch, PhaseVerify, PhaseUnpack, PhasePrepare, PhaseBuild, PhaseCheck, PhasePackage, PhaseIndex}

// phaseAliases maps abuild's verbs to the phases they run.
var phaseAliases = map[string][]Phase{
	"all":       AllPhases,
	"rootpkg":   {PhasePackage, PhaseIndex},
	"builddeps": {PhaseDeps},
}

// ParsePhases parses a comma- or space-separated list of phase names
// (or abuild verbs such as "all" and "rootpkg") into phases in pipeline
// order. An empty list means every phase.
func ParsePhases(s string) ([]Phase, error) {
	want := map[Phase]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if ps, ok := phaseAliases[f]; ok {
			for _, p := range ps {
				want[p] = true
			}
			continue
		}
		found := false
		for _, p := range AllPhases {
			if string(p) == f {
				want[p] = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown phase %q (phases: %s)", f, phaseList())
		}
	}
	if len(want) == 0 {
		return AllPhases, nil
	}
	var out []Phase
	for _, p := range AllPhases {
		if want[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func phaseList() string {
	var s []string
	for _, p := range AllPhases {
		s = append(s, string(p))
	}
	return strings.Join(s, ", ")
}

// Progress receives the pipeline's progress. Implementations must be safe
// for concurrent use; [NoProgress] ignores everything.
type Progress interface {
	// StartPhase is called when a phase or step begins; the returned
	// func is called with its outcome.
	StartPhase(name, title string) (end func(err error))
	// Warn reports a warning (one line).
	Warn(msg string)
	// Info reports progress (one line).
	Info(msg string)
}

// RecipeNamer is implemented by a [Progress] that labels what it reports
// with the recipe's name: [Build] calls RecipeName with the pkgname as
// soon as the APKBUILD is read, before the phases after it start.
type RecipeNamer interface {
	RecipeName(pkgname string)
}

// NoProgress is a [Progress] that reports nothing.
type NoProgress struct{}

// StartPhase does nothing.
func (NoProgress) StartPhase(string, string) func(error) { return func(error) {} }

// Warn does nothing.
func (NoProgress) Warn(string) {}

// Info does nothing.
func (NoProgress) Info(string) {}

// Options configure [Build]. Zero values mean abuild's defaults where it
// has one.
type Options struct {
	// Runner runs the recipe's functions; nil means [sandbox.Plain].
	Runner sandbox.Runner
	// Arch is CARCH, the architecture packages are built for ("" means
	// the host's).
	Arch string
	// BuildArch is CBUILD's architecture ("" means Arch).
	BuildArch string
	// Repodest is the root of the local repositories.
	Repodest string
	// Repo is the repository name ("" means the recipe directory's parent's name).
	Repo string
	// IndexDescription is the DESCRIPTION of the indexes the build writes
	// (abuild -D); "" means abuild's default, "<repo> $(git describe)".
	IndexDescription string
	// Srcdest is the source download cache.
	Srcdest string
	// DistfilesMirror is a URL or local directory tried before each remote
	// source's own URL (DISTFILES_MIRROR; see source.Options.Mirror).
	DistfilesMirror string
	// Key is the private key that signs packages and the index.
	Key string
	// Passphrase returns the passphrase of an encrypted Key; nil means an
	// encrypted key is an error.
	Passphrase func() ([]byte, error)
	// Packager is written to .PKGINFO ("" means "Unknown").
	Packager string
	// Jobs is the build parallelism (JOBS); Makeflags defaults to -j$JOBS.
	Jobs      int
	Makeflags string
	// Env adds to or overrides the phase environment. As in abuild, its
	// SOURCE_DATE_EPOCH and ABUILD_LAST_COMMIT, when set, are the build's
	// date and commit (.PKGINFO builddate and commit, every entry's time).
	Env map[string]string
	// PathPrepend lists absolute directories put before the default PATH
	// of the phase environment, for toolchains outside it (Go from its
	// official tarball in /usr/local/go/bin). The sandbox binds each
	// existing one read-only, so that it is there even in a build root or
	// under a hidden directory.
	PathPrepend []string
	// Phases selects the phases to run; nil means all.
	Phases []Phase
	// NoCheck skips check() as the recipe option !check does.
	NoCheck bool
	// NoDeps goes on when build dependencies are missing.
	NoDeps bool
	// Keep keeps srcdir, pkgdir and tmpdir after a successful build.
	Keep bool
	// Replace lets the new packages replace different ones of the same
	// name and version in the repository, as abuild does; otherwise such
	// a conflict fails the build with [repo.ErrConflict].
	Replace bool
	// HTTPClient downloads remote sources; nil means the source
	// fetcher's default client.
	HTTPClient *http.Client
	// Offline forbids downloads: remote sources must be in the cache.
	Offline bool
	// Net allows the network in every phase (the recipe option net
	// allows it for that recipe).
	Net bool
	// SourceDateEpoch overrides the recipe's SOURCE_DATE_EPOCH (and Env's)
	// when non-zero.
	SourceDateEpoch int64
	// Output receives the recipe's output as it happens (nil: discarded).
	// It is also written to the log file build.log in the recipe directory.
	Output io.Writer
	// Progress receives progress; nil means [NoProgress].
	Progress Progress
	// RootFS is the build root the sandbox uses ("" means the host's /);
	// it also decides where build dependencies are installed.
	RootFS string
	// Root, when set, makes the build root from the recipe's build
	// dependencies before anything runs in the sandbox, as abuild rootbld
	// does (apkit build --alpine): it receives the dependencies rootbld
	// installs for the recipe (depends and makedepends, and checkdepends
	// unless the check is skipped; never the recipe's own packages) and
	// returns the root and the runner to use, which replace RootFS and
	// Runner for this build.
	Root func(ctx context.Context, need []string) (rootfs string, runner sandbox.Runner, err error)
	// Hide lists host paths the sandbox must not show (for example the
	// user's private keys); the signing key is always hidden.
	Hide []string
}

// Package is one package a build wrote.
type Package struct {
	Name    string `json:"name"`    // package name
	Version string `json:"version"` // pkgver-r<pkgrel>
	Arch    string `json:"arch"`    // package architecture
	// Path is where the package is in the repository.
	Path string `json:"path"`
}

// Result describes a finished build.
type Result struct {
	// Pkgname is the recipe's main package name.
	Pkgname string `json:"pkgname"`
	// Skipped says why nothing was built ("" when the build ran).
	Skipped string `json:"skipped,omitempty"`
	// Packages lists the packages written, main package first.
	Packages []Package `json:"packages"`
	// Log is the build log file.
	Log string `json:"log"`
	// ForeignLibc lists the packages that link a C library other than
	// musl (built on a host that is not Alpine): Alpine cannot install them.
	ForeignLibc []ForeignLibc `json:"foreign_libc,omitempty"`
}

// PhaseError reports a failed phase with the last lines of its output.
type PhaseError struct {
	// Phase names the phase that failed: build, check, package, "split NAME", ...
	Phase string
	// Tail holds the last lines the phase printed.
	Tail []string
	// Log is the full log file.
	Log string
	// Err is the cause.
	Err error
}

// Error returns "<phase> failed: " and the cause.
func (e *PhaseError) Error() string { return fmt.Sprintf("%s failed: %v", e.Phase, e.Err) }

// Unwrap returns the cause.
func (e *PhaseError) Unwrap() error { return e.Err }

// ErrBusy reports that another build of the same recipe is running.
var ErrBusy = errors.New("another build of this recipe is running")

// ErrMissingDeps reports build dependencies that are not installed (and
// cannot be, with no apk database to install them into).
var ErrMissingDeps = errors.New("missing build dependencies")

// ErrNoBuilddir reports phases that need the unpacked sources (prepare,
// build, check, package) asked for without unpack when the sources are not
// unpacked, for example after a finished build removed them.
var ErrNoBuilddir = errors.New("builddir is missing: run the unpack phase first")

// ErrNoChecksum reports a source without a sha512sums entry when the
// sources are to be verified.
var ErrNoChecksum = errors.New("no sha512sums entry")

// ErrStaleChecksums reports a checksum list whose names are not those of
// the sources, in order: most often the sources changed (a new pkgver)
// and the checksums were not recomputed.
var ErrStaleChecksums = errors.New("checksums do not match the sources")

// builder holds the state of one build.
type builder struct {
	opts     Options
	d        dirs
	runner   sandbox.Runner
	progress Progress
	log      *os.File
	out      io.Writer
	tail     *tailBuffer
	sde      int64
	commit   string
	env      []string
	plan     *plan
	want     map[Phase]bool
	cleanups []func()
	key      *sign.PrivateKey
	// accts are the users and groups of the sandbox (pkgusers and
	// pkggroups included), owned what package() and the split functions
	// asked chown, chgrp and install to give each file.
	accts *accounts
	owned map[fileID]ownership
	// keepWork keeps the work directories (packages written but not added
	// to the repository stay in the staging directory).
	keepWork bool
	// pkgname is the recipe's, once its APKBUILD is read.
	pkgname string
}

func (b *builder) warnf(format string, args ...any) {
	b.progress.Warn(fmt.Sprintf(format, args...))
	fmt.Fprintf(b.log, "WARNING: %s\n", fmt.Sprintf(format, args...))
}

func (b *builder) infof(format string, args ...any) {
	b.progress.Info(fmt.Sprintf(format, args...))
	fmt.Fprintf(b.log, "%s\n", fmt.Sprintf(format, args...))
}

// step runs fn as a named phase, reporting it to Progress and turning a
// failure into a *PhaseError with the output's last lines.
func (b *builder) step(name, title string, fn func() error) error {
	end := b.progress.StartPhase(name, title)
	fmt.Fprintf(b.log, ">>> %s\n", title)
	b.tail.Reset()
	start := time.Now()
	err := fn()
	fmt.Fprintf(b.log, ">>> %s: %s (%.2fs)\n", name, outcome(err), time.Since(start).Seconds())
	end(err)
	if err == nil {
		return nil
	}
	var pe *PhaseError
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) {
		return err
	}
	return &PhaseError{Phase: name, Tail: b.tail.Lines(), Log: b.d.logFile, Err: err}
}

func outcome(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

// Build runs the pipeline for the recipe in dir. When it fails after the
// APKBUILD was read, the Result is not nil: it holds the recipe's Pkgname
// and Log.
func Build(ctx context.Context, dir string, opts Options) (*Result, error) {
	startdir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(filepath.Join(startdir, "APKBUILD")); err != nil {
		return nil, fmt.Errorf("build %s: %w", dir, err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("build %s: APKBUILD is not a regular file", dir)
	}
	b := &builder{opts: opts, d: newDirs(startdir), tail: newTailBuffer(25)}
	if opts.Repo != "" {
		b.d.repo = opts.Repo
	}
	if b.opts.Arch == "" {
		b.opts.Arch = apkbuild.HostArch()
	}
	if b.opts.BuildArch == "" {
		b.opts.BuildArch = b.opts.Arch
	}
	// The sandbox hides the key by its absolute path.
	if b.opts.Key != "" {
		key, err := filepath.Abs(b.opts.Key)
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		b.opts.Key = key
	}
	for _, d := range opts.PathPrepend {
		if !filepath.IsAbs(d) || strings.ContainsRune(d, ':') {
			return nil, fmt.Errorf("build %s: PATH entry %q: not an absolute path without ':'", dir, d)
		}
	}
	b.runner = opts.Runner
	if b.runner == nil {
		b.runner = sandbox.Plain{}
	}
	b.progress = opts.Progress
	if b.progress == nil {
		b.progress = NoProgress{}
	}
	b.want = map[Phase]bool{}
	phases := opts.Phases
	if len(phases) == 0 {
		phases = AllPhases
	}
	for _, p := range phases {
		b.want[p] = true
	}
	// The log file doubles as the recipe's lock: one build at a time.
	b.log, err = os.OpenFile(b.d.logFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("build log: %w", err)
	}
	defer b.log.Close()
	if err := syscall.Flock(int(b.log.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("build %s: %w (%v)", dir, ErrBusy, err)
	}
	if err := b.log.Truncate(0); err != nil {
		return nil, fmt.Errorf("build log: %w", err)
	}
	var sinks []io.Writer = []io.Writer{b.log, b.tail}
	if opts.Output != nil {
		sinks = append(sinks, opts.Output)
	}
	b.out = &lockedWriter{w: io.MultiWriter(sinks...)}
	res, err := b.run(ctx)
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	if res == nil && b.pkgname != "" {
		// A build that failed after the recipe was read still says
		// which package it was.
		res = &Result{Pkgname: b.pkgname}
	}
	if res != nil {
		res.Log = b.d.logFile
	}
	return res, err
}
