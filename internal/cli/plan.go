package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/graph"
	"github.com/apkit-dev/apkit/pkg/index"
)

type planOptions struct {
	paths    []string
	repodest string
	repo     string
	arch     string
	json     bool
	strict   bool
	gitlab   bool
	// changedSince is a git revision: only the recipes changed since,
	// and those that depend on them.
	changedSince string
}

// planRecipeJSON is one line of `apkit plan --json`: one per recipe, in
// build order.
type planRecipeJSON struct {
	Dir      string   `json:"dir"`
	Pkgname  string   `json:"pkgname"`
	Version  string   `json:"version"`
	Repo     string   `json:"repo"`
	Packages []string `json:"packages"`
	// UpToDate says every package is in REPODEST at this version.
	UpToDate bool `json:"up_to_date"`
	// NotForArch says the recipe's arch excludes the arch planned for.
	NotForArch bool           `json:"not_for_arch,omitempty"`
	Depends    []planEdgeJSON `json:"depends"`
	// Cycles are the cycles broken at one of this recipe's dependencies.
	Cycles []string `json:"cycles,omitempty"`
}

// planEdgeJSON is a dependency of a recipe on another of the set.
type planEdgeJSON struct {
	Dir        string `json:"dir"`
	Pkgname    string `json:"pkgname"`
	Field      string `json:"field"`
	Dependency string `json:"dependency"`
	// Broken says the dependency was ignored to break a cycle.
	Broken bool `json:"broken,omitempty"`
}

const planLong = `Plan reads a set of recipes and prints the order to build them in: a
recipe comes after the recipes of the set that make what its depends,
makedepends and checkdepends name (a pkgname, a subpackage, a provides=
name, or a so:, cmd: or pc: name their packages in REPODEST provide).
Recipes with nothing between them come in the order of their directories.

PATH is a recipe directory (or its APKBUILD), or a directory of recipes:
every */APKBUILD below it, in aports' layout <repo>/<pkg>/APKBUILD or flat.
The default is the current directory.

A cycle (a needs b, b needs a) is reported as a warning and broken the way
lua-aports' "ap builddirs" breaks it: walking the recipes in directory
order, the dependency that leads back to a recipe being walked is ignored.
--strict refuses to plan instead.

A recipe is up to date when its packages (main package and subpackages)
for the arch are all in REPODEST/<repo>/<arch>/ at its pkgver-pkgrel;
apkit build skips it. --json prints, one line per recipe in build order,
its packages, its dependencies with the item that made each, the cycles
broken at it and whether it is up to date.

--changed-since REV plans only the recipes with a file changed since the
git revision REV (committed or not, or new), and every recipe that depends
on them, directly or not.

--gitlab prints a GitLab CI child pipeline instead: one job per recipe,
named "build <dir>", extending the .apkit-build-recipe template of apkit's
GitLab CI templates, in a stage after its dependencies' with needs: on
their jobs (artifacts passed along), then the template's check and upload
jobs. Run it from the project's top directory with relative recipe paths;
docs/repositories.md shows the parent job that triggers it.`

const planExample = `  apkit plan main/
  apkit plan --json aports/main aports/community
  apkit plan --strict main/a main/b
  apkit plan --gitlab */*/ > apkit-pipeline.yml
  apkit plan --changed-since origin/main main/`

func newPlanCmd(app *App) *cobra.Command {
	opts := &planOptions{}
	cmd := &cobra.Command{
		Use:     "plan [PATH...]",
		Short:   "Print the order to build a set of recipes in",
		Long:    planLong,
		Example: planExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runPlan(cmd.Context(), app, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("arch", completeArch)
	_ = cmd.RegisterFlagCompletionFunc("repodest", dirCompletion)
	return cmd
}

// addFlags binds the plan flags to o.
func (o *planOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.repodest, "repodest", "P", "", "`dir` that holds the local repositories, to tell what is up to date (default: repodest from config or abuild.conf)")
	f.StringVar(&o.repo, "repo", "", "repository `name` of every recipe (default: the name of each recipe directory's parent)")
	f.StringVar(&o.arch, "arch", "", "plan for this `arch` (CARCH; default: configured arch)")
	f.BoolVar(&o.json, "json", false, "print one JSON object per recipe, in build order")
	f.BoolVar(&o.strict, "strict", false, "refuse to plan when the dependencies go round in a cycle")
	f.StringVar(&o.changedSince, "changed-since", "", "only the recipes changed since the git `revision`, and those that depend on them")
	f.BoolVar(&o.gitlab, "gitlab", false, "print a GitLab CI child pipeline: one build job per recipe, needs: for its dependencies")
}

func runPlan(ctx context.Context, app *App, opts *planOptions) error {
	if opts.json && opts.gitlab {
		return usageErrorf("--json and --gitlab cannot be used together")
	}
	if opts.repo != "" && !plainName(opts.repo) {
		return usageErrorf("--repo: %q is not a plain name (letters, digits, and . _ - + not first)", opts.repo)
	}
	arch, err := recipeArch(app, opts.arch)
	if err != nil {
		return err
	}
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	dirs, err := expandRecipes(recipePaths(opts.paths))
	if err != nil {
		return err
	}
	g, unread, err := loadGraph(ctx, dirs, graphOptions{arch: arch, repo: opts.repo, repodest: firstNonEmpty(opts.repodest, cfg.Repodest)})
	if err != nil {
		return err
	}
	for _, u := range unread {
		fmt.Fprintf(app.IO.ErrOut, "apkit: %v\n", u.err)
	}
	if err := reportCycles(app, g, opts.strict); err != nil {
		return err
	}
	var sel []bool
	if opts.changedSince != "" {
		if sel, err = changedSince(ctx, g, opts.changedSince); err != nil {
			return err
		}
	}
	out := bufio.NewWriterSize(app.IO.Out, 64<<10)
	if opts.gitlab {
		if err := writeGitLabPipeline(out, g, sel); err != nil {
			return err
		}
	}
	for _, i := range g.Order {
		if opts.gitlab {
			break
		}
		if sel != nil && !sel[i] {
			continue
		}
		if opts.json {
			if err := writeJSONLine(out, planJSON(g, i)); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(out, g.Nodes[i].Dir)
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if len(unread) > 0 {
		return &silentError{code: ExitFailure}
	}
	return nil
}

// reportCycles warns of every cycle of g, or with strict fails naming them.
func reportCycles(app *App, g *graph.Graph, strict bool) error {
	if strict && len(g.Cycles) > 0 {
		var names []string
		for _, c := range g.Cycles {
			names = append(names, g.CycleNames(c))
		}
		return fmt.Errorf("dependency cycles (--strict): %s", strings.Join(names, "; "))
	}
	for _, c := range g.Cycles {
		app.IO.Warnf("dependency cycle %s", g.DescribeCycle(c))
	}
	return nil
}

// planJSON is the JSON form of recipe i of g.
func planJSON(g *graph.Graph, i int) planRecipeJSON {
	n := &g.Nodes[i]
	r := planRecipeJSON{
		Dir: n.Dir, Pkgname: n.Pkgname, Version: n.Version, Repo: n.Repo,
		Packages: n.Packages(), UpToDate: n.UpToDate, NotForArch: n.NotForArch,
		Depends: []planEdgeJSON{},
	}
	for _, e := range n.Edges {
		to := &g.Nodes[e.To]
		r.Depends = append(r.Depends, planEdgeJSON{Dir: to.Dir, Pkgname: to.Pkgname, Field: e.Field, Dependency: e.Dependency, Broken: e.Broken})
	}
	for _, c := range g.Cycles {
		if c.Path[len(c.Path)-2] == i {
			r.Cycles = append(r.Cycles, g.CycleNames(c))
		}
	}
	return r
}

// graphOptions say how to read a set of recipes into a graph.
type graphOptions struct {
	arch, repo, repodest string
}

// loadGraph reads the recipes in dirs concurrently and makes their graph,
// with what REPODEST holds for their repositories. The recipes that cannot
// be read are left out of the graph and returned in unread; the graph
// keeps a recipe that breaks one of abuild's rules (in unread too) when it
// still says what it makes and needs.
func loadGraph(ctx context.Context, dirs []string, opts graphOptions) (g *graph.Graph, unread []loadResult, err error) {
	recipes := make([]graph.Recipe, 0, len(dirs))
	err = eachRecipe(ctx, dirs, recipeLoader(apkbuild.Options{Arch: opts.arch}), func(res loadResult) error {
		if res.err != nil {
			unread = append(unread, loadResult{path: res.path, err: res.err})
			if res.recipe == nil || res.recipe.Pkgname == "" {
				return nil
			}
		}
		repo := opts.repo
		if repo == "" {
			abs, err := filepath.Abs(res.path)
			if err != nil {
				return err
			}
			repo = filepath.Base(filepath.Dir(abs))
		}
		recipes = append(recipes, graph.FromAPKBUILD(res.path, repo, res.recipe))
		return nil
	}, nil)
	if err != nil {
		return nil, unread, err
	}
	built := map[string][]*index.Record{}
	if opts.repodest != "" {
		for _, r := range recipes {
			if _, ok := built[r.Repo]; ok {
				continue
			}
			recs, err := readBuilt(filepath.Join(opts.repodest, r.Repo, opts.arch, "APKINDEX.tar.gz"))
			if err != nil {
				return nil, unread, err
			}
			built[r.Repo] = recs
		}
	}
	return graph.New(recipes, graph.Options{Built: built}), unread, nil
}

// readBuilt returns the records of the index at path: none when there is
// no index.
func readBuilt(path string) ([]*index.Record, error) {
	f, err := os.Open(path)
	// A REPODEST that is not a directory holds nothing (and building says
	// why it cannot publish there).
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ix, err := index.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix.Records, nil
}

// expandRecipes turns recipe paths into recipe directories: a recipe
// directory or APKBUILD stands for itself, and a directory without an
// APKBUILD for every */APKBUILD and */*/APKBUILD below it (a flat
// directory of recipes, or an aports tree of repositories). Directories
// whose names start with a dot are not looked into.
func expandRecipes(paths []string) ([]string, error) {
	out, _, err := expandRecipeTree(paths)
	return out, err
}

// expandRecipeTree is [expandRecipes], and says whether a path was a
// directory of recipes.
func expandRecipeTree(paths []string) (out []string, tree bool, err error) {
	for _, p := range recipeDirs(paths) {
		err := checkRecipe(p)
		var nr *noRecipeError
		if !errors.As(err, &nr) || nr.missing || nr.path != p {
			if err != nil {
				return nil, false, err
			}
			out = append(out, p)
			continue
		}
		found, err := recipesBelow(p, 2)
		if err != nil {
			return nil, false, err
		}
		if len(found) == 0 {
			return nil, false, nr
		}
		out = append(out, found...)
		tree = true
	}
	return out, tree, nil
}

// recipesBelow returns the recipe directories among the subdirectories of
// dir, looking depth levels down, sorted.
func recipesBelow(dir string, depth int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
			continue
		}
		if fi, err := os.Stat(filepath.Join(sub, "APKBUILD")); err == nil && fi.Mode().IsRegular() {
			out = append(out, sub)
			continue
		}
		if depth > 1 {
			below, err := recipesBelow(sub, depth-1)
			if err != nil {
				return nil, err
			}
			out = append(out, below...)
		}
	}
	return out, nil
}

// changedSince returns, by node of g, whether the recipe changed since the
// git revision rev (a file in its directory differs between rev and the
// work tree, or is new and not ignored; build.log and the work directories
// src, pkg and tmp do not count) or depends on one that did.
func changedSince(ctx context.Context, g *graph.Graph, rev string) ([]bool, error) {
	sel := make([]bool, len(g.Nodes))
	if len(g.Nodes) == 0 {
		return sel, nil
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.Nodes[0].Dir}, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				return "", fmt.Errorf("--changed-since %s: git %s: %s", rev, args[0], msg)
			}
			return "", fmt.Errorf("--changed-since %s: git %s: %w", rev, args[0], err)
		}
		return string(out), nil
	}
	top, err := git("rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	top = strings.TrimRight(top, "\n")
	// The recipes by directory relative to the top of the work tree.
	byDir := map[string]int{}
	for i, n := range g.Nodes {
		abs, err := filepath.Abs(n.Dir)
		if err != nil {
			return nil, err
		}
		// The top is what git says: with symbolic links resolved.
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		rel, err := filepath.Rel(top, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("--changed-since: recipe %s is not in the git work tree %s", n.Dir, top)
		}
		byDir[filepath.ToSlash(rel)] = i
	}
	// "--" ends the revisions: a rev that is no revision is an error, not
	// a path.
	diff, err := git("diff", "--name-only", "--no-renames", "-z", rev, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := git("ls-files", "--others", "--exclude-standard", "-z", "--full-name", ":/")
	if err != nil {
		return nil, err
	}
	var changed []int
	for _, p := range strings.Split(diff+untracked, "\x00") {
		for d := path.Dir(p); p != "" && d != "." && d != "/"; d = path.Dir(d) {
			if i, ok := byDir[d]; ok {
				// What a build leaves in the recipe directory is no change.
				first, _, _ := strings.Cut(p[len(d)+1:], "/")
				if first == "build.log" || first == "src" || first == "pkg" || first == "tmp" {
					break
				}
				if !sel[i] {
					sel[i] = true
					changed = append(changed, i)
				}
				break
			}
		}
	}
	for _, i := range g.Dependents(changed...) {
		sel[i] = true
	}
	return sel, nil
}
