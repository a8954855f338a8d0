package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/build"
	"github.com/apkit-dev/apkit/pkg/source"
)

type cleanOptions struct {
	paths []string
	cache bool
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
recipes are not touched.`,
		Example: `  apkit clean
  apkit clean examples/main/greet
  apkit clean --cache
  apkit clean --cache main/*/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runClean(cmd.Context(), app, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.cache, "cache", false, "clean the source cache: set-aside and partial downloads, and, given recipes, the files they do not use")
	return cmd
}

func runClean(ctx context.Context, app *App, opts *cleanOptions) error {
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
