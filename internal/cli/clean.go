package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/build"
)

type cleanOptions struct {
	paths []string
}

func newCleanCmd(app *App) *cobra.Command {
	opts := &cleanOptions{}
	cmd := &cobra.Command{
		Use:   "clean [PATH...]",
		Short: "Remove the work directories of recipes",
		Long: `Remove the work directories a build leaves in each recipe directory
(default: the current directory): src, pkg and tmp, as "abuild clean" does.
The build log is kept.`,
		Example: `  apkit clean
  apkit clean examples/main/greet`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runClean(cmd.Context(), app, opts)
		},
	}
	return cmd
}

func runClean(_ context.Context, app *App, opts *cleanOptions) error {
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
