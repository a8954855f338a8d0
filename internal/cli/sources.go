package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/source"
)

// sourceFlags are the flags shared by the verbs that fetch sources.
type sourceFlags struct {
	offline bool
	jobs    int
}

func (o *sourceFlags) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.offline, "offline", false, "use only the source cache, never the network")
	f.IntVarP(&o.jobs, "jobs", "j", source.DefaultJobs, "download at most `n` files at once")
}

// fetchRecipes runs one, the work of a verb that fetches sources, on each
// recipe path in turn, with source options built from the configuration
// and flags and the fetch progress shown meanwhile; noVerify fetches
// without checking the sources' checksums. It returns the results of one
// in path order, and the errors of one joined by [joinVerify]. When
// nothing could be attempted (bad flags or configuration), the results
// are nil and the error says why.
func fetchRecipes[R any](ctx context.Context, app *App, paths []string, flags sourceFlags, noVerify bool,
	one func(ctx context.Context, app *App, cfg *config.Config, path string, fopts source.Options) (R, error)) ([]R, error) {
	if flags.jobs < 1 {
		return nil, usageErrorf("--jobs must be at least 1")
	}
	cfg, err := app.Config()
	if err != nil {
		return nil, err
	}
	progress, wait := newFetchProgress(ctx, app.IO)
	fopts, err := sourceOptions(app, cfg, flags, progress)
	if err != nil {
		return nil, err
	}
	fopts.NoVerify = noVerify
	recs := make([]R, 0, len(paths))
	var errs []error
	for _, path := range paths {
		rec, err := one(ctx, app, cfg, path, fopts)
		recs = append(recs, rec)
		if err != nil {
			errs = append(errs, err)
		}
	}
	wait()
	return recs, joinVerify(errs)
}

// joinVerify joins errors, keeping exit code 3 when any is a verification
// failure and none is something else.
func joinVerify(errs []error) error {
	err := errors.Join(errs...)
	if err == nil {
		return nil
	}
	for _, e := range errs {
		var v *verifyError
		if !errors.As(e, &v) {
			return err
		}
	}
	return verifyFailed(err)
}

// loadRecipe evaluates the recipe at path (a directory or an APKBUILD).
// Breaches of abuild's rules that do not stop fetching (a checksum list
// that does not match the sources, for example) are printed as warnings;
// the checks of pkg/source report such problems more precisely. With
// rewritingSums, problems of the checksum lists, which the caller is
// about to rewrite, are printed only with -v.
func loadRecipe(ctx context.Context, app *App, cfg *config.Config, path string, rewritingSums bool) (*apkbuild.Recipe, error) {
	r, err := apkbuild.LoadContext(ctx, path, apkbuild.Options{Arch: cfg.Arch})
	if r == nil {
		return nil, noRecipeHint(path, err)
	}
	if err != nil {
		if !errors.Is(err, apkbuild.ErrInvalid) {
			return nil, err
		}
		warnings := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			warnings = j.Unwrap()
		}
		for _, w := range warnings {
			if rewritingSums && strings.Contains(w.Error(), "sums") {
				app.IO.Verbosef("%v", w)
				continue
			}
			app.IO.Warnf("%v", w)
		}
	}
	return r, nil
}

// recipeItems turns a recipe's sources into items without checksums.
func recipeItems(r *apkbuild.Recipe) []source.Item {
	items := make([]source.Item, len(r.Sources))
	for i, s := range r.Sources {
		items[i] = source.Item{Name: s.Name, URL: s.URL}
		if s.URL == "" {
			items[i].Local = filepath.Join(r.Dir, s.Local)
		}
	}
	return items
}

// checkedItems returns the recipe's items with their checksums attached:
// sha512sums, or, in older recipes, sha256sums or md5sums (with a warning).
func checkedItems(app *App, r *apkbuild.Recipe) ([]source.Item, error) {
	items := recipeItems(r)
	if len(items) == 0 && len(r.Checksums) == 0 {
		return nil, nil
	}
	algo := source.SHA512
	sums := make([]source.FileSum, len(r.Checksums))
	for i, c := range r.Checksums {
		algo = source.Algo(c.Algo)
		sums[i] = source.FileSum{Digest: c.Digest, Name: c.Name}
	}
	if algo != source.SHA512 && len(sums) > 0 {
		app.IO.Warnf("%s: uses %ssums; run \"apkit checksum\" to write sha512sums", recipeLabel(r), algo)
	}
	items, err := source.WithChecksums(items, algo, sums)
	if err != nil {
		return nil, verifyFailed(fmt.Errorf("%s: %w\n(%s)", recipeLabel(r), err, checksumFix))
	}
	return items, nil
}

// recipeLabel names a recipe in messages: its APKBUILD path as given.
func recipeLabel(r *apkbuild.Recipe) string {
	if r.Name != "" {
		return r.Name
	}
	return r.Path
}

// sourceOptions builds source.Options from the configuration and flags.
func sourceOptions(app *App, cfg *config.Config, f sourceFlags, progress source.Progress) (source.Options, error) {
	client, err := app.HTTPClient()
	if err != nil {
		return source.Options{}, err
	}
	if cfg.Srcdest == "" {
		return source.Options{}, errors.New("no source cache: set srcdest (APKIT_SRCDEST or SRCDEST in abuild.conf)")
	}
	return source.Options{
		Cache:    cfg.Srcdest,
		Mirror:   cfg.DistfilesMirror,
		Offline:  f.offline,
		Client:   client,
		Progress: progress,
		Jobs:     f.jobs,
	}, nil
}

// mirrorNotes tells why the distfiles mirror was passed over: a copy that
// failed verification is a warning (the mirror is stale or tampered with),
// a file the mirror lacks is news only with -v.
func mirrorNotes(app *App, r *apkbuild.Recipe, results []source.Result) {
	for _, res := range results {
		switch err := res.MirrorErr; {
		case err == nil:
		case errors.Is(err, source.ErrChecksumMismatch):
			app.IO.Warnf("%s: distfiles mirror copy refused, fetched %s instead: %v", recipeLabel(r), res.Item.URL, err)
		default:
			app.IO.Verbosef("%s: %s: not from the distfiles mirror: %v", recipeLabel(r), res.Item.Name, err)
		}
	}
}

// fetchError marks a checksum mismatch as a verification failure (exit 3).
func fetchError(err error) error {
	if errors.Is(err, source.ErrChecksumMismatch) {
		return verifyFailed(err)
	}
	return err
}

// checksumFix says how to bring a recipe's checksums up to date.
const checksumFix = "run apkit checksum to record the checksums of the recipe's sources, or apkit bump --pkgver VERSION to change pkgver and the checksums together"

// checksumHint says how to fix a checksum mismatch. A local source file
// is most often one edited on purpose. A download that does not match is
// most often a recipe whose version changed without its checksums; but it
// may have been tampered with, which the hint says too.
func checksumHint(err error) error {
	var ce *source.ChecksumError
	switch {
	case !errors.As(err, &ce):
		return err
	case !ce.Remote:
		return fmt.Errorf("%w; if the new file is the right one, run apkit checksum to record it", err)
	case ce.SameAsCached:
		return fmt.Errorf("%w; if the recipe moved to a new version or source, %s", err, checksumFix)
	default:
		return fmt.Errorf("%w; if the recipe moved to a new version or source, %s; if not, the download is not the file the recipe was written for", err, checksumFix)
	}
}

// writeFileAtomic replaces path with data atomically (see [repo.WriteFile]),
// keeping path's mode (0644 for a new file).
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return repo.WriteFile(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// recipePaths returns the paths given, or the current directory.
func recipePaths(args []string) []string {
	if len(args) == 0 {
		return []string{"."}
	}
	return args
}

// recipeDirs turns recipe paths into recipe directories: a path naming an
// APKBUILD file stands for its directory, as apkit show, lint and fetch
// take it.
func recipeDirs(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p
		if filepath.Base(p) == "APKBUILD" {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				out[i] = filepath.Dir(p)
			}
		}
	}
	return out
}
