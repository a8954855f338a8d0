package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/source"
)

type fetchOptions struct {
	paths []string
	json  bool
	sourceFlags
}

// fetchRecipeJSON is one line of `apkit fetch --json`: one per recipe.
type fetchRecipeJSON struct {
	APKBUILD string            `json:"apkbuild"`
	Pkgname  string            `json:"pkgname"`
	Sources  []fetchSourceJSON `json:"sources"`
	Error    string            `json:"error,omitempty"`
}

type fetchSourceJSON struct {
	Name       string `json:"name"`
	URL        string `json:"url,omitempty"`
	Path       string `json:"path,omitempty"`
	Algo       string `json:"algo,omitempty"`
	Digest     string `json:"digest,omitempty"`
	Downloaded bool   `json:"downloaded"`
}

func newFetchCmd(app *App) *cobra.Command {
	opts := &fetchOptions{}
	cmd := &cobra.Command{
		Use:   "fetch [PATH...]",
		Short: "Download and verify the sources of recipes",
		Long: `Download the sources of each recipe (a directory holding an APKBUILD, or an
APKBUILD file; the current directory by default) into the source cache
(srcdest), and verify every source, local files included, against the
recipe's sha512sums (sha256sums or md5sums in older recipes).

The cache is shared by every recipe and safe when several apkit processes
fetch at once: a download goes to <name>.part and takes its final name only
when it is complete and verified. Downloads follow redirects, honour
HTTP_PROXY, HTTPS_PROXY and NO_PROXY, retry network errors and server errors
with backoff, and resume an interrupted download where the server allows it.
Sources may be http, https or ftp (passive mode, anonymous unless the URL
names a user) URLs.

With distfiles_mirror set (DISTFILES_MIRROR in abuild.conf), a URL or a local
directory, each remote source is first asked of the mirror by its saved name,
once; when the mirror lacks it, fails, or serves a copy that does not verify
(moved aside, with a warning), the source's own URL is used.

A source that fails verification makes apkit exit with code 3. A cached
file that no longer matches the recipe is downloaded again: when the
download is the same file, the recipe's checksum is what changed, and the
cached copy is kept; any other download that fails verification is renamed
to <name>.<first 8 hex digits of the expected digest> for inspection
("apkit clean --cache" removes such files). With --offline nothing goes
to the network, and every source missing from the cache is listed with the
URL it would come from.

The path of each verified file is printed, one per line.`,
		Example: `  apkit fetch
  apkit fetch main/hello community/foo
  apkit fetch --offline --json .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = recipePaths(args)
			return runFetch(cmd.Context(), app, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func (o *fetchOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.json, "json", false, "print JSON")
	o.sourceFlags.addFlags(f)
}

func runFetch(ctx context.Context, app *App, opts *fetchOptions) error {
	recs, err := fetchRecipes(ctx, app, opts.paths, opts.sourceFlags, false, fetchRecipe)
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
			for _, s := range r.Sources {
				if s.Path != "" {
					fmt.Fprintln(app.IO.Out, s.Path)
				}
			}
		}
	}
	return err
}

func fetchRecipe(ctx context.Context, app *App, cfg *config.Config, path string, fopts source.Options) (fetchRecipeJSON, error) {
	rec := fetchRecipeJSON{APKBUILD: path}
	fail := func(err error) (fetchRecipeJSON, error) {
		rec.Error = err.Error()
		return rec, err
	}
	r, err := loadRecipe(ctx, app, cfg, path, false)
	if err != nil {
		return fail(err)
	}
	rec.APKBUILD, rec.Pkgname = recipeLabel(r), r.Pkgname
	items, err := checkedItems(app, r)
	if err != nil {
		return fail(err)
	}
	results, err := source.Fetch(ctx, items, fopts)
	mirrorNotes(app, r, results)
	for i, it := range items {
		s := fetchSourceJSON{Name: it.Name, URL: it.URL, Algo: string(it.Sum.Algo), Digest: it.Sum.Digest}
		if results != nil {
			s.Path, s.Downloaded = results[i].Path, results[i].Downloaded
		}
		rec.Sources = append(rec.Sources, s)
		if s.Path != "" {
			how := "from the cache"
			switch {
			case results[i].FromMirror:
				how = "from the distfiles mirror"
			case s.Downloaded:
				how = "downloaded"
			case it.URL == "":
				how = "local"
			}
			app.IO.Verbosef("%s: %s verified (%s, %s)", recipeLabel(r), it.Name, it.Sum.Algo, how)
		}
	}
	if err != nil {
		return fail(fetchError(checksumHint(fmt.Errorf("%s: %w", recipeLabel(r), err))))
	}
	return rec, nil
}
