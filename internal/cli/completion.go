package cli

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
)

type completionOptions struct {
	shell          string
	noDescriptions bool
}

const completionLong = `Print the shell completion script for bash, zsh or fish.

The apk and deb packages of apkit install these scripts already. To install
them by hand:

  bash  apkit completion bash > /usr/share/bash-completion/completions/apkit
        (needs the bash-completion package)
  zsh   apkit completion zsh > /usr/share/zsh/site-functions/_apkit
        (or any directory in $fpath; run "compinit" once)
  fish  apkit completion fish > ~/.config/fish/completions/apkit.fish

or load them into the running shell only:

  source <(apkit completion bash)

The bash script needs the bash-completion package in both cases (apk add
bash-completion, apt install bash-completion), and a shell that loads it:
without it, bash reports "_get_comp_words_by_ref: command not found" at
the first Tab. zsh and fish need nothing more.`

func newCompletionCmd(app *App) *cobra.Command {
	opts := &completionOptions{}
	cmd := &cobra.Command{
		Use:       "completion bash|zsh|fish",
		Short:     "Print the shell completion script for bash, zsh or fish",
		Long:      completionLong,
		Example:   "  apkit completion bash > /usr/share/bash-completion/completions/apkit\n  source <(apkit completion bash)",
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.shell = args[0]
			return runCompletion(cmd.Context(), app, cmd.Root(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.noDescriptions, "no-descriptions", false, "leave out the descriptions of commands and flags")
	return cmd
}

func runCompletion(_ context.Context, app *App, root *cobra.Command, opts *completionOptions) error {
	out := app.IO.Out
	switch opts.shell {
	case "bash":
		return root.GenBashCompletionV2(out, !opts.noDescriptions)
	case "zsh":
		if opts.noDescriptions {
			return root.GenZshCompletionNoDesc(out)
		}
		return root.GenZshCompletion(out)
	case "fish":
		return root.GenFishCompletion(out, !opts.noDescriptions)
	}
	return usageErrorf("completion: %q is not one of bash, zsh, fish", opts.shell)
}

// completeArch completes --arch: Alpine's architecture names.
func completeArch(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return apkbuild.Arches(), cobra.ShellCompDirectiveNoFileComp
}

// completeShowField completes show's --field: a package's or an index's
// field names when the arguments so far name one, else the recipe
// variables and show's own names.
func completeShowField(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var names []string
	for _, a := range args {
		switch {
		case strings.HasSuffix(a, ".apk"):
			names = append(names, slices.Collect(maps.Keys(archiveFields(&showArchiveJSON{Kind: "package", Info: &showPkgInfo{}})))...)
		case strings.HasSuffix(a, ".tar.gz"):
			names = append(names, slices.Collect(maps.Keys(archiveFields(&showArchiveJSON{Kind: "index"})))...)
		}
	}
	if len(names) == 0 {
		names = append(slices.Clone(apkbuild.Variables), showFields...)
	}
	slices.Sort(names)
	return slices.Compact(names), cobra.ShellCompDirectiveNoFileComp
}
