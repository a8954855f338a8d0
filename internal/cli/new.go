package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/source"
	"github.com/apkit-dev/apkit/pkg/version"
)

type newOptions struct {
	arg         string
	name        string
	pkgver      string
	description string
	license     string
	url         string
	buildSystem string
	dir         string
	force       bool
	json        bool
	sourceFlags
}

// newJSON is the JSON form of `apkit new --json`.
type newJSON struct {
	// Path is the APKBUILD written.
	Path    string `json:"path"`
	Pkgname string `json:"pkgname"`
	Pkgver  string `json:"pkgver"`
	// BuildSystem is the build system the templates follow; GuessedFrom
	// names the file (or pkgname) it was guessed from, "" when given.
	BuildSystem string `json:"build_system"`
	GuessedFrom string `json:"guessed_from,omitempty"`
	// Checksums is true when the source was fetched and its checksum written.
	Checksums bool `json:"checksums"`
	// Placeholders are the variables left as TODO, to edit.
	Placeholders []string `json:"placeholders"`
}

const newLong = `New writes an APKBUILD skeleton, as abuild's newapkbuild does, into
DIR/PKGNAME/APKBUILD (DIR is the current directory by default).

The argument is a source archive's URL (http, https or ftp) or a name,
NAME or NAME-VERSION. From a URL the package's name and version are read
from the file name (NAME-VERSION.tar.gz), or for a GitHub archive
(https://github.com/OWNER/REPO/archive/refs/tags/TAG.tar.gz) from the
repository's name and the tag; the version in the URL becomes $pkgver.

The source is fetched (into the source cache, as apkit fetch does) and
unpacked in a temporary directory, to write its checksum and to guess:
- the build system, from the top of the source: an executable configure
  (autotools), Makefile.PL (perl), meson.build (meson), CMakeLists.txt
  (cmake), go.mod (go), Cargo.toml (rust), pyproject.toml or setup.py
  (python), a Makefile (make); a perl- or py3- name says perl or python;
- builddir, from the archive's top directory;
- a -dev subpackage when there are C headers;
- the license, from a LICENSE or COPYING file's text (check it);
- pkgdesc, from Cargo.toml or pyproject.toml.
--type, --description, --license and --url set them instead.

When the source cannot be fetched the skeleton is written all the same,
without checksums: run apkit checksum once it can be. Values nothing
said are written as TODO and named in a warning; the skeleton passes
apkit lint, but it is a start, not a recipe.`

func newNewCmd(app *App) *cobra.Command {
	opts := &newOptions{}
	cmd := &cobra.Command{
		Use:   "new URL|NAME[-VERSION]",
		Short: "Write an APKBUILD skeleton for a source URL or a name",
		Long:  newLong,
		Example: `  apkit new https://example.org/releases/hello-2.12.1.tar.gz
  apkit new --type cmake --license MIT --dir aports/testing foo-1.0
  apkit new --name foo https://example.org/download/v1.0.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.arg = args[0]
			return runNew(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.name, "name", "n", "", "package `name` (default: from the URL or argument)")
	f.StringVar(&opts.pkgver, "pkgver", "", "package `version` (default: from the URL or argument)")
	f.StringVarP(&opts.description, "description", "d", "", "pkgdesc, a one-line `description`")
	f.StringVarP(&opts.license, "license", "l", "", "`license`, an SPDX expression (default: guessed from the source)")
	f.StringVarP(&opts.url, "url", "u", "", "the project's home page `URL` (default: from the source URL)")
	names := make([]string, len(apkbuild.BuildSystems))
	for i, b := range apkbuild.BuildSystems {
		names[i] = string(b)
	}
	f.StringVarP(&opts.buildSystem, "type", "t", "", "build `system`: "+strings.Join(names, ", ")+" (default: guessed from the source)")
	f.StringVar(&opts.dir, "dir", ".", "write the recipe to `dir`/PKGNAME")
	f.BoolVarP(&opts.force, "force", "f", false, "replace an existing APKBUILD")
	f.BoolVar(&opts.json, "json", false, "print JSON")
	opts.sourceFlags.addFlags(f)
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("dir", dirCompletion)
	return cmd
}

func runNew(ctx context.Context, app *App, opts *newOptions) error {
	src, err := apkbuild.ParseNewSource(opts.arg)
	if err != nil {
		return usageErrorf("new: %v", err)
	}
	if opts.pkgver != "" {
		src.Pkgver = opts.pkgver
	}
	if opts.name != "" {
		src.Rename(opts.name)
	}
	if !apkbuild.ValidName(src.Pkgname) {
		return usageErrorf("new: %q is not a package name: give one with --name", src.Pkgname)
	}
	if src.Pkgver == "" {
		return usageErrorf("new: no version in %q: give NAME-VERSION, or --pkgver", opts.arg)
	}
	if !version.ValidPkgver(src.Pkgver) {
		return usageErrorf("new: %q is not a pkgver (digits and dots, then letters and suffixes such as _rc1): give one with --pkgver", src.Pkgver)
	}
	var bs apkbuild.BuildSystem
	if opts.buildSystem != "" {
		bs = apkbuild.BuildSystem(opts.buildSystem)
		if !slices.Contains(apkbuild.BuildSystems, bs) {
			return usageErrorf("new: --type: %q is not a build system apkit knows", opts.buildSystem)
		}
	}
	if opts.jobs < 1 {
		return usageErrorf("--jobs must be at least 1")
	}
	dir := filepath.Join(opts.dir, src.Pkgname)
	path := filepath.Join(dir, "APKBUILD")
	if _, err := os.Stat(path); err == nil && !opts.force {
		return fmt.Errorf("new: %s exists (--force replaces it)", path)
	}
	cfg, err := app.Config()
	if err != nil {
		return err
	}

	sk := &apkbuild.Skeleton{
		Pkgname: src.Pkgname, Pkgver: src.Pkgver, Source: src.Source,
		Pkgdesc: opts.description, License: opts.license, URL: opts.url,
	}
	if apkbuild.ValidMaintainer(cfg.Packager) {
		sk.Maintainer = cfg.Packager
	}
	if sk.URL == "" {
		sk.URL = src.Homepage
	}
	out := newJSON{Pkgname: src.Pkgname, Pkgver: src.Pkgver, Placeholders: []string{}}

	// Fetch and look inside.
	var sums []source.FileSum
	var tree fs.FS
	if src.URL != "" {
		tmp, err := os.MkdirTemp("", "apkit-new-")
		if err != nil {
			return fmt.Errorf("new: %w", err)
		}
		defer os.RemoveAll(tmp)
		sum, sdir, err := fetchNewSource(ctx, app, cfg, opts.sourceFlags, src, tmp)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			app.IO.Warnf("%s: not fetched, so no checksum and no guesses from its content: %v (run apkit checksum %s once it can be fetched)", src.URL, err, dir)
		default:
			sums = []source.FileSum{{Digest: sum, Name: src.Name}}
			out.Checksums = true
			if sdir != "" {
				tree = os.DirFS(filepath.Join(tmp, "src", sdir))
				if src.Pkgver != "" {
					sdir = strings.ReplaceAll(sdir, src.Pkgver, "$pkgver")
				}
				sk.Builddir = sdir
			}
		}
	}
	if bs == "" {
		bs, out.GuessedFrom = apkbuild.GuessBuildSystem(tree, src.Pkgname)
		if out.GuessedFrom != "" {
			app.IO.Infof("build system: %s (from %s)", bs, out.GuessedFrom)
		} else {
			app.IO.Warnf("build system: none recognised; build(), check() and package() are to be written (or give --type)")
		}
	}
	sk.BuildSystem = bs
	out.BuildSystem = string(bs)
	if tree != nil {
		sk.Dev = apkbuild.HasHeaders(tree)
		if sk.License == "" {
			if spdx, file := apkbuild.GuessLicense(tree); spdx != "" {
				sk.License = spdx
				app.IO.Warnf("license %s guessed from %s: check it", spdx, file)
			}
		}
		if sk.Pkgdesc == "" {
			sk.Pkgdesc = apkbuild.GuessDescription(tree)
		}
	}
	for _, v := range [][2]string{{"pkgdesc", sk.Pkgdesc}, {"url", sk.URL}, {"license", sk.License}} {
		if v[1] == "" {
			out.Placeholders = append(out.Placeholders, v[0])
		}
	}

	text := sk.Render()
	if len(sums) > 0 {
		text = append(append(text, '\n'), source.FormatChecksums(source.SHA512, sums)...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("new: %w", err)
	}
	if err := writeFileAtomic(path, text); err != nil {
		return fmt.Errorf("new: %w", err)
	}
	if len(out.Placeholders) > 0 {
		verb := "are TODO: edit them"
		if len(out.Placeholders) == 1 {
			verb = "is TODO: edit it"
		}
		app.IO.Warnf("%s: %s %s", path, strings.Join(out.Placeholders, ", "), verb)
	}
	out.Path = path
	if opts.json {
		return writeJSONLine(app.IO.Out, out)
	}
	fmt.Fprintln(app.IO.Out, path)
	return nil
}

// fetchNewSource fetches the source into the cache, returns its SHA-512
// digest, and unpacks it into tmp/src; it also returns the name of the
// archive's top directory there ("" when it has none, or several).
func fetchNewSource(ctx context.Context, app *App, cfg *config.Config, flags sourceFlags, src *apkbuild.NewSource, tmp string) (string, string, error) {
	progress, wait := newFetchProgress(ctx, app.IO)
	fopts, err := sourceOptions(app, cfg, flags, progress)
	if err != nil {
		wait()
		return "", "", err
	}
	fopts.NoVerify = true
	results, err := source.Fetch(ctx, []source.Item{{Name: src.Name, URL: src.URL}}, fopts)
	wait()
	if err != nil {
		return "", "", err
	}
	sum, err := source.SumFile(results[0].Path, source.SHA512)
	if err != nil {
		return "", "", err
	}
	srcdir := filepath.Join(tmp, "src")
	if err := source.Populate(ctx, results, srcdir, source.UnpackOptions{}); err != nil {
		// Not an archive apkit unpacks: the checksum is still good.
		app.IO.Verbosef("%s: not unpacked: %v", src.Name, err)
		return sum, "", nil
	}
	ents, err := os.ReadDir(srcdir)
	if err != nil {
		return sum, "", nil
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != 1 {
		return sum, "", nil
	}
	return sum, dirs[0], nil
}
