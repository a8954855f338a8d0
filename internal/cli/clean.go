package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/build"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/source"
)

type cleanOptions struct {
	paths     []string
	cache     bool
	roots     bool
	unusedFor time.Duration
}

func newCleanCmd(app *App) *cobra.Command {
	opts := &cleanOptions{}
	cmd := &cobra.Command{
		Use:   "clean [PATH...]",
		Short: "Remove the work directories of recipes",
		Long: `Remove the work directories a build leaves in each recipe directory
(default: the current directory): src, pkg and tmp, as "abuild clean" does.
The build log is kept.

--cache cleans the source cache (srcdest) instead. It removes what fetches
leave behind: downloads that failed verification, which are kept for
inspection as NAME.<first 8 hex digits of the expected digest>, and partial
downloads that no fetch is working on. Given recipes, it also removes every
cached file none of them uses as a source, so that "apkit clean --cache
main/*/" keeps exactly the sources of a tree of recipes. Set-aside files
are known by their name alone (a dot and 8 hex digits at its end): a
source saved under such a name is kept only when a recipe given uses it.
A file that another apkit is fetching is left alone. The work directories of the
recipes are not touched.

--roots cleans the cache of Alpine build roots (the roots/ directory of
cache_dir, which "apkit build --alpine" fills) instead: it removes the
roots an interrupted build left half made, and every cached root, or with
--unused-for DURATION only those no build has used for that long. A root
that a running apkit is making or building in is left alone; the next
build that needs a removed root makes it again.`,
		Example: `  apkit clean
  apkit clean examples/main/greet
  apkit clean --cache
  apkit clean --cache main/*/
  apkit clean --roots
  apkit clean --roots --unused-for 720h`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runClean(cmd.Context(), app, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.cache, "cache", false, "clean the source cache: set-aside and partial downloads, and, given recipes, the files they do not use")
	cmd.Flags().BoolVar(&opts.roots, "roots", false, "clean the cache of Alpine build roots: half-made roots, and cached roots no build is using")
	cmd.Flags().DurationVar(&opts.unusedFor, "unused-for", 0, "with --roots, remove only the roots no build has used for `DURATION` (720h: 30 days)")
	return cmd
}

func runClean(ctx context.Context, app *App, opts *cleanOptions) error {
	if opts.unusedFor != 0 && !opts.roots {
		return usageErrorf("--unused-for goes with --roots")
	}
	if opts.unusedFor < 0 {
		return usageErrorf("--unused-for: %s is negative", opts.unusedFor)
	}
	if opts.roots {
		if opts.cache {
			return usageErrorf("--roots and --cache clean different caches: give one")
		}
		if len(opts.paths) > 0 {
			return usageErrorf("--roots takes no recipes: it cleans the whole cache of build roots")
		}
		return runCleanRoots(app, opts)
	}
	if opts.cache {
		return runCleanCache(ctx, app, opts)
	}
	for _, p := range recipeDirs(recipePaths(opts.paths)) {
		if err := checkRecipe(p); err != nil {
			return err
		}
		if err := build.Clean(p); err != nil {
			return fmt.Errorf("clean %s: %w", p, err)
		}
		app.IO.Verbosef("cleaned %s", p)
	}
	return nil
}

// runCleanCache cleans the source cache, keeping the sources of the
// recipes given.
func runCleanCache(ctx context.Context, app *App, opts *cleanOptions) error {
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	if cfg.Srcdest == "" {
		return errors.New("clean --cache: no source cache: set srcdest (APKIT_SRCDEST or SRCDEST in abuild.conf)")
	}
	var keep map[string]bool
	if len(opts.paths) > 0 {
		keep = map[string]bool{}
		for _, p := range opts.paths {
			r, err := loadRecipe(ctx, app, cfg, p, false)
			if err != nil {
				return fmt.Errorf("clean --cache: %w", err)
			}
			for _, it := range recipeItems(r) {
				if it.Remote() {
					keep[it.Name] = true
				}
			}
		}
	}
	removed, size, err := source.CleanCache(ctx, cfg.Srcdest, keep)
	for _, p := range removed {
		app.IO.Verbosef("removed %s", p)
	}
	app.IO.Infof("removed %d file(s), %d bytes, from %s", len(removed), size, cfg.Srcdest)
	return err
}

// runCleanRoots prunes the cache of build roots.
func runCleanRoots(app *App, opts *cleanOptions) error {
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	if cfg.CacheDir == "" {
		return errors.New("clean --roots: no cache directory: set cache_dir")
	}
	dir := filepath.Join(cfg.CacheDir, "roots")
	var po install.PruneOptions
	if opts.unusedFor > 0 {
		po.UsedBefore = app.Now().Add(-opts.unusedFor)
	}
	pruned, err := install.PruneRoots(dir, po)
	for _, p := range pruned.Partial {
		app.IO.Verbosef("removed %s (half made)", p)
	}
	for _, p := range pruned.Roots {
		app.IO.Verbosef("removed %s", p)
	}
	app.IO.Infof("removed %d build root(s) and %d half-made one(s) from %s", len(pruned.Roots), len(pruned.Partial), dir)
	if err != nil {
		return fmt.Errorf("clean --roots: %w", err)
	}
	return nil
}
