package cli

import (
	"bytes"
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/source"
)

type checksumOptions struct {
	paths []string
	json  bool
	sourceFlags
}

// checksumRecipeJSON is one line of `apkit checksum --json`: one per
// recipe.
type checksumRecipeJSON struct {
	APKBUILD   string           `json:"apkbuild"`
	Pkgname    string           `json:"pkgname"`
	Changed    bool             `json:"changed"`
	Sha512sums []source.FileSum `json:"sha512sums"`
	Error      string           `json:"error,omitempty"`
}

func newChecksumCmd(app *App) *cobra.Command {
	opts := &checksumOptions{}
	cmd := &cobra.Command{
		Use:   "checksum [PATH...]",
		Short: "Recompute the sha512sums of recipes",
		Long: `Fetch the sources of each recipe (a directory holding an APKBUILD, or an
APKBUILD file; the current directory by default) without verifying them,
compute their SHA-512 digests and rewrite the recipe's checksum block in
abuild's format:

  sha512sums="
  <128 hex digits>  <saved name>
  "

with one line per source, in source order. Older sha<N>sums blocks are
removed; every other byte of the APKBUILD is kept as it was. The file is
replaced atomically, and only when its checksums changed.

The path of each APKBUILD that changed is printed.`,
		Example: `  apkit checksum
  apkit checksum main/hello main/foo
  apkit checksum --offline --json .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = recipePaths(args)
			return runChecksum(cmd.Context(), app, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func (o *checksumOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.json, "json", false, "print JSON")
	o.sourceFlags.addFlags(f)
}

func runChecksum(ctx context.Context, app *App, opts *checksumOptions) error {
	recs, err := fetchRecipes(ctx, app, opts.paths, opts.sourceFlags, true, checksumRecipe)
	if recs == nil {
		return err
	}
	if opts.json {
		for _, r := range recs {
			if err := writeJSONLine(app.IO.Out, r); err != nil {
				return err
			}
		}
	} else {
		for _, r := range recs {
			if r.Changed {
				fmt.Fprintln(app.IO.Out, r.APKBUILD)
			}
		}
	}
	return err
}

func checksumRecipe(ctx context.Context, app *App, cfg *config.Config, path string, fopts source.Options) (checksumRecipeJSON, error) {
	rec := checksumRecipeJSON{APKBUILD: path, Sha512sums: []source.FileSum{}}
	fail := func(err error) (checksumRecipeJSON, error) {
		rec.Error = err.Error()
		return rec, err
	}
	r, err := loadRecipe(ctx, app, cfg, path, true)
	if err != nil {
		return fail(err)
	}
	rec.APKBUILD, rec.Pkgname = recipeLabel(r), r.Pkgname
	sums, err := sumItems(ctx, app, r, recipeItems(r), fopts)
	if err != nil {
		return fail(err)
	}
	rec.Sha512sums = sums
	text, err := source.RewriteChecksums(r.Src, sums)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", recipeLabel(r), err))
	}
	if bytes.Equal(text, r.Src) {
		app.IO.Infof("%s: checksums unchanged", recipeLabel(r))
		return rec, nil
	}
	if err := writeFileAtomic(r.Path, text); err != nil {
		return fail(err)
	}
	rec.Changed = true
	app.IO.Infof("%s: sha512sums updated", recipeLabel(r))
	return rec, nil
}

// sumItems fetches items as fopts says (verified or not) and returns
// their SHA-512 digests in source order.
func sumItems(ctx context.Context, app *App, r *apkbuild.Recipe, items []source.Item, fopts source.Options) ([]source.FileSum, error) {
	results, err := source.Fetch(ctx, items, fopts)
	mirrorNotes(app, r, results)
	if err != nil {
		return nil, fetchError(fmt.Errorf("%s: %w", recipeLabel(r), err))
	}
	sums := make([]source.FileSum, len(results))
	for i, res := range results {
		d, err := source.SumFile(res.Path, source.SHA512)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", recipeLabel(r), err)
		}
		sums[i] = source.FileSum{Digest: d, Name: res.Item.Name}
	}
	return sums, nil
}
