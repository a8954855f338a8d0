package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
)

type lintOptions struct {
	paths []string
	json  bool
	arch  string
}

const lintLong = `Lint checks APKBUILD recipes with abuild's validation (the checks "abuild
validate" makes: names, versions, dependencies, subpackages, sources and
checksums, install scripts, triggers, maintainer, secfixes) and the
apkbuild-lint style rules. Each finding is printed as

  APKBUILD:LINE:COL: severity: rule: message

Findings that abuild would refuse to build are errors; the others are
warnings. Lint exits with status 0 when there is no error-level finding and
1 otherwise. PATH is a directory holding an APKBUILD, or the file; the
default is the current directory.

A warning's rule is skipped when the variable SKIP_<RULE> is set (the rule
in upper case with _ for -, as apkbuild-lint has it: SKIP_CUSTOM_VARIABLE=1)
or when lint_skip in the config file lists it (lint_skip: [custom-variable,
indent-tabs], or APKIT_LINT_SKIP). Errors are not skipped: abuild refuses
to build such recipes.`

const lintExample = `  apkit lint examples/main/greet
  apkit lint --json examples/main/*/`

func newLintCmd(app *App) *cobra.Command {
	opts := &lintOptions{}
	cmd := &cobra.Command{
		Use:     "lint [PATH...]",
		Short:   "Check APKBUILD recipes against abuild's rules and style",
		Long:    lintLong,
		Example: lintExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runLint(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.json, "json", false, "print one JSON object per finding, one per line")
	f.StringVar(&opts.arch, "arch", "", "read the recipes for this `arch` (CARCH; default: configured arch)")
	_ = cmd.RegisterFlagCompletionFunc("arch", completeArch)
	return cmd
}

func runLint(ctx context.Context, app *App, opts *lintOptions) error {
	paths := recipePaths(opts.paths)
	arch, err := recipeArch(app, opts.arch)
	if err != nil {
		return err
	}
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	skip := func(f apkbuild.Finding) bool {
		if f.Severity == apkbuild.SeverityError {
			return false
		}
		env := "SKIP_" + strings.ToUpper(strings.ReplaceAll(f.Rule, "-", "_"))
		return app.Getenv(env) != "" || slices.Contains(cfg.LintSkip, f.Rule)
	}
	failed := false
	err = eachRecipe(ctx, paths, recipeLoader(apkbuild.Options{Arch: arch}), func(res loadResult) error {
		name := recipeName(res.path)
		var findings []apkbuild.Finding
		var nr *noRecipeError
		if errors.As(res.err, &nr) {
			fmt.Fprintf(app.IO.ErrOut, "apkit: %v\n", nr)
			failed = true
			return nil
		}
		if res.err != nil {
			findings = apkbuild.ErrorFindings(name, res.err)
		}
		if res.recipe != nil {
			res.recipe.Name = name
			lo := apkbuild.LintOptions{OwnFiles: ownFiles(res.recipe.Dir, cfg.Repodest, cfg.Srcdest)}
			findings = append(findings, apkbuild.LintWith(res.recipe, lo)...)
			apkbuild.SortFindings(findings)
		}
		findings = slices.DeleteFunc(findings, skip)
		if apkbuild.HasErrors(findings) {
			failed = true
		}
		for _, f := range findings {
			if opts.json {
				if err := writeJSONLine(app.IO.Out, f); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintln(app.IO.Out, f.String())
		}
		return nil
	}, nil)
	if err != nil {
		return err
	}
	if failed {
		return &silentError{code: ExitFailure}
	}
	return nil
}

// ownFiles returns the names in the recipe directory dir under which the
// build's own directories (repodest, srcdest) lie, when they lie there.
func ownFiles(dir string, paths ...string) []string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		if p, err = filepath.Abs(p); err != nil {
			continue
		}
		if rel, err := filepath.Rel(abs, p); err == nil && rel != "." && filepath.IsLocal(rel) {
			out = append(out, strings.SplitN(filepath.ToSlash(rel), "/", 2)[0])
		}
	}
	return out
}
