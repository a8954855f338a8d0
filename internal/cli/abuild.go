package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// abuildRow is one row of the table of abuild's flags and verbs and their
// apkit forms. The table is the single source of the abuild section of
// docs/from-abuild.md (see [AbuildTableMarkdown]) and of the hints apkit
// gives for an abuild flag or verb it does not take.
type abuildRow struct {
	// Abuild, Apkit and Notes are the table's columns, in Markdown.
	// Apkit is nothingNeeded or noEquivalent where apkit has no form.
	Abuild, Apkit, Notes string
	// Flags are abuild's short flags the row is about, without '-'.
	Flags []string
	// Verbs are abuild's verbs the row is about that are not apkit
	// commands (an apkit command of the same name runs instead).
	Verbs []string
	// Accepted says that apkit build takes Flags with abuild's meaning.
	Accepted bool
}

const (
	nothingNeeded = "(nothing needed)"
	noEquivalent  = "(no equivalent)"
)

// abuildRows is the abuild table, in the order docs/from-abuild.md shows it.
var abuildRows = []abuildRow{
	{Abuild: "`abuild -r`", Apkit: "`apkit build`", Flags: []string{"r"}, Accepted: true,
		Notes: "installs missing build dependencies with apk where apk is (an Alpine host or `--rootfs`), as a virtual package `.makedepends-<pkgname>` that is removed afterwards; `apkit build -r` is accepted and changes nothing"},
	{Abuild: "rebuilding the same pkgver and pkgrel", Apkit: "`apkit build --replace`",
		Notes: "abuild overwrites the package in REPODEST; apkit refuses a package that differs from the one of the same version already there unless `--replace` is given (raise pkgrel to publish a change)"},
	{Abuild: "`abuild` (`all`) without `-r`", Apkit: "`apkit build`", Verbs: []string{"all"},
		Notes: "apkit always handles dependencies; elsewhere it lists what is missing and stops unless `--no-deps`"},
	{Abuild: "`abuild rootbld`", Apkit: "`apkit build`", Verbs: []string{"rootbld"},
		Notes: "every build runs in a bubblewrap sandbox when the machine allows it; see [the sandbox](sandbox.md). `--alpine RELEASE` builds, as rootbld does, in an Alpine root of abuild, alpine-base, build-base and the recipe's dependencies that apkit installs from the mirror and caches (see [build roots](build-roots.md)); `--rootfs DIR` builds against an Alpine root of your own"},
	{Abuild: "`abuild -A`", Apkit: "`apkit show --field carch`", Flags: []string{"A"},
		Notes: "the arch the recipe builds for; `apkit config` shows the configured `arch`"},
	{Abuild: "`abuild -c` / `-m`", Apkit: "`apkit build -c` / `-m`", Flags: []string{"c", "m"}, Accepted: true,
		Notes: "or `--color always` / `--color never`, for every command; `NO_COLOR` and `FORCE_COLOR` are honoured too"},
	{Abuild: "`abuild -C DIR`", Apkit: "`apkit -C DIR`", Flags: []string{"C"}, Accepted: true},
	{Abuild: "`abuild -d`", Apkit: "`apkit build -d` (`--no-deps`)", Flags: []string{"d"}, Accepted: true,
		Notes: "goes on when build dependencies are missing"},
	{Abuild: "`abuild -D DESC`", Apkit: "`apkit index -d DESC`", Flags: []string{"D"},
		Notes: "the index description; `apkit build` writes abuild's default, `<repo> $(git describe)` (`main ` outside git or without an annotated tag)"},
	{Abuild: "`abuild -f`", Apkit: "`apkit build -f` (`--force`)", Flags: []string{"f"}, Accepted: true,
		Notes: "builds recipes that are up to date (all their packages already in REPODEST at their pkgver-pkgrel), which `apkit build` otherwise skips; a run of some `--phases`, and `--replace`, never skip"},
	{Abuild: "`abuild -F`", Apkit: nothingNeeded, Flags: []string{"F"},
		Notes: "apkit does not refuse to run as root"},
	{Abuild: "`abuild -i PKG`", Apkit: noEquivalent, Flags: []string{"i"},
		Notes: "install the packages after the build with `apk add`, or on any Linux with `apkit add --root DIR -X REPODEST/main PKG` (apk's flags and output)"},
	{Abuild: "`abuild -k`", Apkit: nothingNeeded, Flags: []string{"k"},
		Notes: "apkit never removes packages it built before; in apkit, `-k` is `--key FILE`, as in abuild-sign"},
	{Abuild: "`abuild -K`", Apkit: "`apkit build -K` (`--keep`)", Flags: []string{"K"}, Accepted: true,
		Notes: "keeps `src`, `pkg` and `tmp` after a successful build"},
	{Abuild: "`abuild -P DIR`", Apkit: "`apkit build -P DIR` (`--repodest DIR`)", Flags: []string{"P"}, Accepted: true,
		Notes: "or `APKIT_REPODEST`, or `repodest` in the config file"},
	{Abuild: "`abuild -R` / `-u`", Apkit: noEquivalent, Flags: []string{"R", "u"},
		Notes: "apkit builds the recipes it is given (`apkit build main/`: every recipe of a repository) in dependency order, but does not look for dependencies outside them; `apkit plan` prints that order"},
	{Abuild: "`abuild -s DIR`", Apkit: "`APKIT_SRCDEST=DIR`", Flags: []string{"s"},
		Notes: "or `srcdest` in the config file"},
	{Abuild: "`abuild -q` / `-v`", Apkit: "`apkit -q` / `apkit -v`", Flags: []string{"q", "v"}, Accepted: true,
		Notes: "`-q` prints nothing on success but results"},
	{Abuild: "`abuild -V`", Apkit: "`apkit version` or `apkit --version`", Flags: []string{"V"}},
	{Abuild: "`abuild build`, `check`, `prepare`, `unpack`, `deps`, `package`, `fetch`, `verify`, `index`", Apkit: "`apkit build --phases NAME[,NAME...]`",
		Verbs: []string{"check", "prepare", "unpack", "deps", "package"},
		Notes: "phases run in pipeline order: deps, fetch, verify, unpack, prepare, build, check, package, index"},
	{Abuild: "`abuild rootpkg`", Apkit: "`apkit build --phases rootpkg`", Verbs: []string{"rootpkg"},
		Notes: "package and index"},
	{Abuild: "`abuild builddeps`", Apkit: "`apkit build --phases builddeps`", Verbs: []string{"builddeps"},
		Notes: "same as `--phases deps`"},
	{Abuild: "`abuild fetch`, `abuild verify`", Apkit: "`apkit fetch`",
		Notes: "downloads into the source cache and verifies every source; takes several recipes at once (`apkit verify` checks the signatures of packages and indexes)"},
	{Abuild: "`abuild checksum`", Apkit: "`apkit checksum`",
		Notes: "rewrites only the checksum block"},
	{Abuild: "(aports' `abump`)", Apkit: "`apkit bump --pkgver V` / `apkit bump --pkgrel`", Verbs: []string{"abump"},
		Notes: "sets the version, fetches the new sources and rewrites the checksums"},
	{Abuild: "`newapkbuild URL` or `NAME-VERSION`", Apkit: "`apkit new URL` or `NAME-VERSION`", Verbs: []string{"newapkbuild"},
		Notes: "fetches the source, writes its checksum and guesses the build system (autotools, cmake, meson, python, go, rust, perl, make), builddir, a `-dev` subpackage and the license; `-n`, `-d`, `-l`, `-u` as in newapkbuild, `--type` instead of `-a`/`-C`/`-m`/`-p`/`-y`/`-r`; no `-s` or `-c`"},
	{Abuild: "`abuild clean`", Apkit: "`apkit clean`",
		Notes: "removes `src`, `pkg` and `tmp`; keeps `build.log`"},
	{Abuild: "`abuild cleancache`", Apkit: "`apkit clean --cache [PATH...]`", Verbs: []string{"cleancache"},
		Notes: "removes set-aside (`<name>.<8 hex>`) and partial downloads from the source cache; given recipes, also every cached file they do not use"},
	{Abuild: "`abuild validate` (`sanitycheck`)", Apkit: "`apkit lint`", Verbs: []string{"validate", "sanitycheck"},
		Notes: "also the apkbuild-lint style rules"},
	{Abuild: "`apkbuild-lint` (atools)", Apkit: "`apkit lint`", Verbs: []string{"apkbuild-lint"},
		Notes: "findings as `APKBUILD:LINE:COL: severity: rule: message`, `--json` too; `SKIP_<RULE>=1` or `lint_skip` in the config skips a warning rule"},
	{Abuild: "`abuild listpkg`", Apkit: "`apkit show`", Verbs: []string{"listpkg"},
		Notes: "lists the subpackages; `apkit build` prints the path of every package it writes"},
	{Abuild: "`abuild undeps`", Apkit: nothingNeeded, Verbs: []string{"undeps"},
		Notes: "`apkit build` removes the dependencies it installed"},
	{Abuild: "`abuild cleanoldpkg`, `cleanpkg`, `snapshot`, `sourcecheck`, `srcpkg`, `up2date`, `installdeps`, `uninstalldeps`", Apkit: noEquivalent,
		Verbs: []string{"cleanoldpkg", "cleanpkg", "snapshot", "sourcecheck", "srcpkg", "up2date", "installdeps", "uninstalldeps"}},
}

// AbuildTableMarkdown returns the abuild table of docs/from-abuild.md.
func AbuildTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| abuild | apkit | notes |\n|---|---|---|\n")
	for _, r := range abuildRows {
		notes := " "
		if r.Notes != "" {
			notes = " " + r.Notes + " "
		}
		fmt.Fprintf(&b, "| %s | %s |%s|\n", r.Abuild, r.Apkit, notes)
	}
	return b.String()
}

// abuildFlagRow returns the row about abuild's short flag, or nil.
func abuildFlagRow(flag string) *abuildRow {
	for i := range abuildRows {
		for _, f := range abuildRows[i].Flags {
			if f == flag {
				return &abuildRows[i]
			}
		}
	}
	return nil
}

// abuildVerbRow returns the row about abuild's verb, or nil.
func abuildVerbRow(verb string) *abuildRow {
	for i := range abuildRows {
		for _, v := range abuildRows[i].Verbs {
			if v == verb {
				return &abuildRows[i]
			}
		}
	}
	return nil
}

var markdownLink = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`) })

// plainText turns a table cell into text for the terminal.
func plainText(md string) string {
	return strings.ReplaceAll(markdownLink().ReplaceAllString(md, "$1"), "`", "")
}

// hint says what apkit does about what, abuild's flag or verb as the user
// wrote it ("abuild -f"), in one sentence.
func (r *abuildRow) hint(what, verb string) string {
	notes := plainText(r.Notes)
	switch r.Apkit {
	case nothingNeeded:
		if notes == "" {
			return what + " is not needed with apkit"
		}
		return what + " is not needed with apkit: " + notes
	case noEquivalent:
		if notes == "" {
			return what + " has no apkit equivalent"
		}
		return what + " has no apkit equivalent: " + notes
	}
	apkit := plainText(r.Apkit)
	if verb != "" {
		apkit = strings.ReplaceAll(apkit, "NAME[,NAME...]", verb)
	}
	return what + " is " + apkit
}

// flagError turns a flag parsing error of c into a usage error, with the
// apkit form of an abuild flag or the flag a misspelt one stands for.
func flagError(c *cobra.Command, err error) error {
	var (
		notExist *pflag.NotExistError
		needsArg *pflag.ValueRequiredError
	)
	switch {
	case errors.As(err, &notExist) && notExist.GetSpecifiedShortnames() != "":
		if r := abuildFlagRow(notExist.GetSpecifiedName()); r != nil {
			return &usageError{err: fmt.Errorf("%w (%s)", err, r.hint("abuild -"+notExist.GetSpecifiedName(), ""))}
		}
	case errors.As(err, &notExist):
		if s := suggestFlag(c, notExist.GetSpecifiedName()); s != "" {
			return &usageError{err: fmt.Errorf("%w (did you mean --%s?)", err, s)}
		}
	case errors.As(err, &needsArg) && needsArg.GetSpecifiedShortnames() != "":
		// abuild's -k takes no argument; apkit's is --key FILE.
		if r := abuildFlagRow(needsArg.GetSpecifiedName()); r != nil && !r.Accepted {
			return &usageError{err: fmt.Errorf("%w (%s)", err, r.hint("abuild -"+needsArg.GetSpecifiedName(), ""))}
		}
	}
	return &usageError{err: err, showUsage: true}
}

// suggestFlag returns the long flag of c that name most likely stands
// for ("no-check" for "nocheck"), or "".
func suggestFlag(c *cobra.Command, name string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
	}
	want := norm(name)
	best, bestDist := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if norm(f.Name) == want {
			best, bestDist = f.Name, -1
			return
		}
		if d := config.EditDistance(want, norm(f.Name)); d < bestDist && len(want) > 3 {
			best, bestDist = f.Name, d
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	return best
}

var unknownCommand = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^unknown command "([^"]*)" for "([^"]*)"`) })

// abuildVerbError gives cobra's unknown command error the apkit form of
// an abuild verb ("apkit rootpkg"); other errors are returned as they are.
func abuildVerbError(err error) error {
	m := unknownCommand().FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	r := abuildVerbRow(m[1])
	if r == nil {
		return err
	}
	what := "abuild " + m[1]
	if m[1] == "abump" || m[1] == "apkbuild-lint" || m[1] == "newapkbuild" {
		what = m[1]
	}
	return &usageError{err: fmt.Errorf("unknown command %q for %q: %s", m[1], m[2], r.hint(what, m[1]))}
}
