package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/source"
	"github.com/apkit-dev/apkit/pkg/version"
)

type bumpOptions struct {
	path   string
	pkgver string
	pkgrel bool
	json   bool
	sourceFlags
}

// bumpJSON is the output of `apkit bump --json`.
type bumpJSON struct {
	APKBUILD   string           `json:"apkbuild"`
	Pkgname    string           `json:"pkgname"`
	From       string           `json:"from"`
	To         string           `json:"to"`
	Sha512sums []source.FileSum `json:"sha512sums"`
	// Changed is false when --pkgver named the recipe's own pkgver and
	// nothing was done.
	Changed bool `json:"changed"`
}

func newBumpCmd(app *App) *cobra.Command {
	opts := &bumpOptions{}
	cmd := &cobra.Command{
		Use:   "bump (--pkgver VERSION | --pkgrel) [PATH]",
		Short: "Move a recipe to a new upstream version or release",
		Long: `Move the recipe at PATH (a directory holding an APKBUILD, or an APKBUILD
file; the current directory by default) to a new version: the step a CI
pipeline runs when a new upstream release should flow into its package.

--pkgver VERSION sets pkgver and resets pkgrel to 0, fetches the sources of
the new version and rewrites the sha512sums block. --pkgrel increments
pkgrel, fetches and verifies the sources, and rewrites the checksums in
sha512 form. Nothing else in the APKBUILD changes, and it is rewritten only
when every source was fetched: a failed bump leaves the file as it was.
--pkgver with the recipe's own pkgver changes nothing (it does not reset
pkgrel), with a warning, and succeeds, so that a scheduled job may run it
with the latest upstream version every time.

The old and the new version are printed.`,
		Example: `  apkit bump --pkgver 2.13 main/hello
  apkit bump --pkgrel
  apkit bump --pkgver 1.4.2 --json .`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.path = "."
			if len(args) == 1 {
				opts.path = args[0]
			}
			return runBump(cmd.Context(), app, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func (o *bumpOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.pkgver, "pkgver", "", "set pkgver to `version` and pkgrel to 0")
	f.BoolVar(&o.pkgrel, "pkgrel", false, "increment pkgrel")
	f.BoolVar(&o.json, "json", false, "print JSON")
	o.sourceFlags.addFlags(f)
}

func runBump(ctx context.Context, app *App, opts *bumpOptions) error {
	switch {
	case opts.pkgver == "" && !opts.pkgrel:
		return usageErrorf("give --pkgver VERSION or --pkgrel")
	case opts.pkgver != "" && opts.pkgrel:
		return usageErrorf("--pkgver and --pkgrel cannot be used together")
	case opts.pkgver != "" && !version.ValidPkgver(opts.pkgver):
		return usageErrorf("--pkgver: %q is not a valid apk version", opts.pkgver)
	case opts.jobs < 1:
		return usageErrorf("--jobs must be at least 1")
	}
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	r, err := loadRecipe(ctx, app, cfg, opts.path, opts.pkgver != "")
	if err != nil {
		return err
	}
	name := recipeLabel(r)
	text := r.Src
	if opts.pkgver != "" && opts.pkgver == r.Pkgver {
		// Resetting pkgrel to 0 would publish an older release under a
		// version apk already has: leave the recipe as it is, and say so.
		app.IO.Warnf("%s: pkgver is already %s: nothing changed (apkit bump --pkgrel raises the release, apkit checksum recomputes the checksums)", name, r.Pkgver)
		v := r.Pkgver + "-r" + r.Pkgrel
		if opts.json {
			return writeJSONLine(app.IO.Out, bumpJSON{APKBUILD: name, Pkgname: r.Pkgname, From: v, To: v, Sha512sums: []source.FileSum{}})
		}
		_, err = fmt.Fprintf(app.IO.Out, "%s %s -> %s\n", r.Pkgname, v, v)
		return err
	}
	if opts.pkgver != "" && version.Valid(r.Pkgver) && version.Compare(opts.pkgver, r.Pkgver) < 0 {
		// Allowed (a bad release is sometimes rolled back), but apk does
		// not upgrade to it: say so.
		app.IO.Warnf("%s: %s is older than %s: apk will not upgrade installed packages to it (raise pkgrel, or use a version above %s)", name, opts.pkgver, r.Pkgver, r.Pkgver)
	}
	if opts.pkgver != "" {
		if text, err = source.SetVariable(text, "pkgver", opts.pkgver); err == nil {
			text, err = source.SetVariable(text, "pkgrel", "0")
		}
	} else {
		n, cerr := strconv.Atoi(r.Pkgrel)
		if cerr != nil || n < 0 {
			return fmt.Errorf("%s: pkgrel %q is not a non-negative integer", name, r.Pkgrel)
		}
		text, err = source.SetVariable(text, "pkgrel", strconv.Itoa(n+1))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	next, err := apkbuild.Parse(bytes.NewReader(text), r.Path, apkbuild.Options{Arch: cfg.Arch})
	if next == nil || (err != nil && !errors.Is(err, apkbuild.ErrInvalid)) {
		return fmt.Errorf("%s after the bump: %w", name, err)
	}
	if opts.pkgver != "" && next.Pkgver != opts.pkgver {
		return fmt.Errorf("%s: pkgver evaluates to %q after setting it to %q; edit the recipe by hand", name, next.Pkgver, opts.pkgver)
	}

	progress, wait := newFetchProgress(ctx, app.IO)
	fopts, err := sourceOptions(app, cfg, opts.sourceFlags, progress)
	if err != nil {
		return err
	}
	// A new pkgver means new sources, whose digests are yet to be known;
	// a new pkgrel keeps the sources, which must still match.
	items := recipeItems(next)
	if opts.pkgver != "" || len(next.Checksums) == 0 {
		fopts.NoVerify = true
	} else if items, err = checkedItems(app, next); err != nil {
		wait()
		return err
	}
	sums, err := sumItems(ctx, app, next, items, fopts)
	wait()
	if err != nil {
		return err
	}
	if text, err = source.RewriteChecksums(text, sums); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := writeFileAtomic(r.Path, text); err != nil {
		return err
	}
	from, to := r.Pkgver+"-r"+r.Pkgrel, next.Pkgver+"-r"+next.Pkgrel
	if opts.json {
		return writeJSONLine(app.IO.Out, bumpJSON{APKBUILD: name, Pkgname: next.Pkgname, From: from, To: to, Sha512sums: sums, Changed: true})
	}
	_, err = fmt.Fprintf(app.IO.Out, "%s %s -> %s\n", next.Pkgname, from, to)
	return err
}
