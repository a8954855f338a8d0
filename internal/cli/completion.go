package cli

import (
	"context"

	"github.com/spf13/cobra"
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

  source <(apkit completion bash)`

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
