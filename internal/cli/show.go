package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/version"
)

type showOptions struct {
	paths []string
	json  bool
	field string
	arch  string
	files bool
}

// showRecipe is the JSON form of one recipe in `apkit show --json`.
type showRecipe struct {
	Path        string                `json:"path"`
	Version     string                `json:"version"`
	Carch       string                `json:"carch"`
	Pkgarch     string                `json:"pkgarch"`
	BuildsFor   bool                  `json:"builds_for_carch"`
	Maintainer  string                `json:"maintainer"`
	Vars        sortedStrings         `json:"vars"`
	Arch        []string              `json:"arch"`
	Subpackages []apkbuild.Subpackage `json:"subpackages"`
	Sources     []apkbuild.Source     `json:"sources"`
	Options     []string              `json:"options"`
	Depends     map[string][]string   `json:"depends"`
	Install     []string              `json:"install"`
	Triggers    []apkbuild.Trigger    `json:"triggers"`
	Functions   []apkbuild.Function   `json:"functions"`
}

const showLong = `Show evaluates APKBUILD recipes the way abuild sources them, in the
environment abuild gives a recipe for the chosen architecture, and prints
what they declare: name, version, description, dependencies, subpackages,
sources with their checksums, options and functions.

PATH is a directory holding an APKBUILD, or the APKBUILD file itself; the
default is the current directory. Several paths are read concurrently and
printed in the order given.

--field NAME prints one value per recipe: any recipe variable (pkgver,
source, subpackages, ...) as the exact string the shell holds, or one of
version, pkgarch, carch, builddir, startdir. --json prints one JSON object
per recipe, one per line.

A PATH that is a package (.apk) or an index (APKINDEX.tar.gz) is shown too:
its metadata, signatures and, with --files, its file list. --field prints
one of a package's .PKGINFO values (pkgname, pkgver, depends, provides,
arch, ...; lists space-separated) or its id, or an index's description or
number of packages.

Reading a recipe never runs a host program and never touches the network.`

const showExample = `  apkit show examples/main/greet
  apkit show --field pkgver examples/main/greet
  apkit show --json --arch aarch64 examples/main/greet examples/main/hello-sh`

func newShowCmd(app *App) *cobra.Command {
	opts := &showOptions{}
	cmd := &cobra.Command{
		Use:     "show [PATH...]",
		Short:   "Print what recipes, packages and indexes declare",
		Long:    showLong,
		Example: showExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runShow(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.json, "json", false, "print one JSON object per recipe")
	f.StringVar(&opts.field, "field", "", "print only the value of `name` (a recipe variable, version, pkgarch, ...)")
	f.StringVar(&opts.arch, "arch", "", "read the recipes for this `arch` (CARCH; default: configured arch)")
	f.BoolVar(&opts.files, "files", false, "list the files of a package (or the entries of an index)")
	_ = cmd.RegisterFlagCompletionFunc("field", completeShowField)
	_ = cmd.RegisterFlagCompletionFunc("arch", completeArch)
	return cmd
}

// showFields are the --field names beyond the recipe variables.
var showFields = []string{"version", "pkgarch", "carch", "startdir"}

// recipeArch returns the arch to read recipes for: the flag, else the
// configured one.
func recipeArch(app *App, flag string) (string, error) {
	if flag != "" {
		if !apkbuild.KnownArch(flag) {
			return "", usageErrorf("--arch: %q is not an Alpine architecture (x86_64, aarch64, armv7, ...)", flag)
		}
		return flag, nil
	}
	cfg, err := app.Config()
	if err != nil {
		return "", err
	}
	return cfg.Arch, nil
}

// loadResult is one recipe read concurrently.
type loadResult struct {
	path   string
	recipe *apkbuild.Recipe
	err    error
}

// loadFunc reads one recipe.
type loadFunc func(ctx context.Context, path string) (*apkbuild.Recipe, error)

// recipeLoader returns the loadFunc of apkit show and lint.
func recipeLoader(opts apkbuild.Options) loadFunc {
	return func(ctx context.Context, path string) (*apkbuild.Recipe, error) {
		return apkbuild.LoadContext(ctx, path, opts)
	}
}

// loadWorkers is how many recipes are read at a time: one per CPU the Go
// runtime uses, since reading a recipe is computation.
func loadWorkers() int { return runtime.GOMAXPROCS(0) }

// loadWindow is how many results may be read ahead of the one being
// written, per worker.
const loadWindow = 4

// eachRecipe reads paths with [loadWorkers] workers and calls fn with each
// result in argument order. Workers run at most loadWindow times the
// worker count ahead of fn, so memory does not grow with the number of
// paths. Before waiting for a result that is not ready, it calls idle, if
// not nil (to flush buffered output). It stops at the first error fn or
// idle returns, or when ctx ends.
func eachRecipe(ctx context.Context, paths []string, load loadFunc, fn func(loadResult) error, idle func() error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if os.Getenv("GOGC") == "" && len(paths) > 1 {
		// The live heap stays at a few MiB, so the collector would run
		// every few recipes: a larger target costs some MiB and saves
		// CPU.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	workers := loadWorkers()
	// pending holds, in argument order, one channel per path being read or
	// read and not yet handed to fn; its capacity is the window.
	pending := make(chan chan loadResult, loadWindow*workers)
	sem := make(chan struct{}, workers)
	go func() {
		defer close(pending)
		for _, p := range paths {
			ch := make(chan loadResult, 1)
			select {
			case pending <- ch:
			case <-ctx.Done():
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ch <- loadResult{path: p, err: ctx.Err()}
				return
			}
			go func() {
				defer func() { <-sem }()
				r, err := load(ctx, p)
				ch <- loadResult{path: p, recipe: r, err: noRecipeHint(p, err)}
			}()
		}
	}()
	for ch := range pending {
		var res loadResult
		select {
		case res = <-ch:
		default:
			if idle != nil {
				if err := idle(); err != nil {
					return err
				}
			}
			res = <-ch
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(res); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func runShow(ctx context.Context, app *App, opts *showOptions) error {
	if opts.field != "" && opts.json {
		return usageErrorf("--field and --json cannot be used together")
	}
	paths := recipePaths(opts.paths)
	var recipes []string
	for _, p := range paths {
		if isArchivePath(p) {
			if err := runShowArchive(ctx, app, opts, p); err != nil {
				return err
			}
			continue
		}
		recipes = append(recipes, p)
	}
	if len(recipes) == 0 {
		return nil
	}
	if opts.field != "" && !slices.Contains(apkbuild.Variables, opts.field) && !slices.Contains(showFields, opts.field) {
		return usageErrorf("--field: %q is not a recipe variable nor one of %s; recipe variables: %s", opts.field, strings.Join(showFields, ", "), strings.Join(apkbuild.Variables, ", "))
	}
	arch, err := recipeArch(app, opts.arch)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(app.IO.Out, 64<<10)
	failed := false
	err = eachRecipe(ctx, recipes, recipeLoader(apkbuild.Options{Arch: arch}), func(res loadResult) error {
		if res.err != nil {
			// Results before this one are written first.
			if err := out.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(app.IO.ErrOut, "apkit: %v\n", res.err)
			failed = true
			return nil
		}
		r := res.recipe
		switch {
		case opts.field != "":
			fmt.Fprintln(out, fieldValue(r, opts.field))
		case opts.json:
			if err := writeJSONLine(out, showJSON(r)); err != nil {
				return err
			}
		default:
			if len(recipes) > 1 {
				fmt.Fprintf(out, "%s:\n", r.Name)
			}
			printRecipe(out, r)
		}
		return nil
	}, flushEvery(out, 100*time.Millisecond))
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if failed {
		return &silentError{code: ExitFailure}
	}
	return nil
}

// flushEvery returns an idle function for [eachRecipe] that flushes w when
// it was last flushed more than d ago, so that a slow recipe does not hold
// back what is already written.
func flushEvery(w *bufio.Writer, d time.Duration) func() error {
	last := time.Now()
	return func() error {
		if w.Buffered() == 0 || time.Since(last) < d {
			return nil
		}
		last = time.Now()
		return w.Flush()
	}
}

// writeJSONLine writes v as one line of JSON, without HTML escaping.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// isArchivePath reports whether p is a package or index file rather than
// a recipe.
func isArchivePath(p string) bool {
	if !strings.HasSuffix(p, ".apk") && !strings.HasSuffix(p, ".tar.gz") {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// recipeName is the APKBUILD path of a show/lint argument, as the user
// wrote it.
func recipeName(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return filepath.Join(p, "APKBUILD")
	}
	return p
}

func fieldValue(r *apkbuild.Recipe, field string) string {
	switch field {
	case "version":
		return r.Version()
	case "pkgarch":
		return r.Pkgarch
	case "carch":
		return r.Carch
	case "startdir":
		return r.Dir
	}
	return r.Vars[field]
}

func showJSON(r *apkbuild.Recipe) showRecipe {
	out := showRecipe{
		Path:        r.Name,
		Version:     r.Version(),
		Carch:       r.Carch,
		Pkgarch:     r.Pkgarch,
		BuildsFor:   r.BuildsFor(r.Carch),
		Maintainer:  r.Maintainer,
		Vars:        r.Vars,
		Arch:        nonNil(r.Arch),
		Subpackages: nonNil(r.Subpackages),
		Sources:     nonNil(r.Sources),
		Options:     nonNil(r.Options),
		Install:     nonNil(r.Install),
		Triggers:    nonNil(r.Triggers),
		Functions:   sortedFunctions(r),
		Depends:     map[string][]string{},
	}
	for name, deps := range dependencyLists(r) {
		out.Depends[name] = depStrings(deps)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func depStrings(deps []version.Dependency) []string {
	out := make([]string, 0, len(deps))
	for _, d := range deps {
		out = append(out, d.String())
	}
	return out
}

func dependencyLists(r *apkbuild.Recipe) map[string][]version.Dependency {
	return map[string][]version.Dependency{
		"depends":           r.Depends,
		"makedepends":       r.Makedepends,
		"makedepends_build": r.MakedependsBuild,
		"makedepends_host":  r.MakedependsHost,
		"checkdepends":      r.Checkdepends,
		"provides":          r.Provides,
		"install_if":        r.InstallIf,
		"replaces":          r.Replaces,
	}
}

func sortedFunctions(r *apkbuild.Recipe) []apkbuild.Function {
	fns := make([]apkbuild.Function, 0, len(r.Functions))
	for _, f := range r.Functions {
		fns = append(fns, f)
	}
	slices.SortFunc(fns, func(a, b apkbuild.Function) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.Name, b.Name)
	})
	return fns
}

// printRecipe writes the human-readable form of a recipe.
func printRecipe(w io.Writer, r *apkbuild.Recipe) {
	fmt.Fprintf(w, "%s %s\n", r.Pkgname, r.Version())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	row("description", r.Pkgdesc)
	row("url", r.URL)
	row("license", r.License)
	arch := strings.Join(r.Arch, " ")
	if r.BuildsFor(r.Carch) {
		arch += " (builds for " + r.Carch + ")"
	} else {
		arch += " (does not build for " + r.Carch + ")"
	}
	row("arch", strings.TrimSpace(arch))
	row("maintainer", r.Maintainer)
	lists := dependencyLists(r)
	for _, name := range []string{"depends", "makedepends", "checkdepends", "provides", "install_if", "replaces"} {
		row(name, strings.Join(depStrings(lists[name]), " "))
	}
	for i, s := range r.Subpackages {
		k := ""
		if i == 0 {
			k = "subpackages"
		}
		fmt.Fprintf(tw, "  %s\t%s (%s, %s)\n", k, s.Name, s.Func, s.Arch)
	}
	for i, s := range r.Sources {
		k := ""
		if i == 0 {
			k = "sources"
		}
		where := s.URL
		if where == "" {
			where = "local " + s.Local
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", k, s.Name, where)
	}
	row("options", strings.Join(r.Options, " "))
	row("install", strings.Join(r.Install, " "))
	var trig []string
	for _, t := range r.Triggers {
		trig = append(trig, t.Script+"="+strings.Join(t.Paths, ":"))
	}
	row("triggers", strings.Join(trig, " "))
	var fns []string
	for _, f := range sortedFunctions(r) {
		fns = append(fns, f.Name)
	}
	row("functions", strings.Join(fns, " "))
	tw.Flush()
}
