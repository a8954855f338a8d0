package cli

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/config"
)

type configOptions struct {
	json bool
}

// configSetting is one setting in `apkit config --json`.
type configSetting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
	// Origin is the file or variable the value came from, when there is one.
	Origin string `json:"origin,omitempty"`
	Help   string `json:"help"`
}

// configInfo is the JSON form of `apkit config --json`.
type configInfo struct {
	// File is apkit's config file that was read, "" when none.
	File     string          `json:"file"`
	Settings []configSetting `json:"settings"`
}

const configLong = `Config prints every setting apkit resolved, its value and where the value
came from: a flag, an APKIT_* environment variable, apkit's config file,
an existing abuild configuration (/etc/abuild.conf, then the user's
abuild.conf, read as shell the way abuild reads them), or the default.

"apkit config set KEY VALUE" writes a setting to the config file.`

func newConfigCmd(app *App) *cobra.Command {
	opts := &configOptions{}
	cmd := &cobra.Command{
		Use:     "config",
		Short:   "Print the resolved settings and where each came from",
		Long:    configLong,
		Example: "  apkit config\n  apkit config --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfig(cmd.Context(), app, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON")
	cmd.AddCommand(newConfigSetCmd(app))
	return cmd
}

type configSetOptions struct {
	key, value string
}

const configSetLong = `Set writes one setting to apkit's config file (--config, else
$APKIT_CONFIG, else ~/.config/apkit/config.yaml), creating the file if
needed. The other settings and the comments in the file stay; the file is
replaced atomically, so a reader never sees half of it, and it is made
readable by its owner only when it holds anything named like a password,
passphrase, token or secret.

KEY is one of the settings "apkit config" lists. List settings (keys_dirs,
lint_skip) take one string: directories separated by ':', rules by ','.`

func newConfigSetCmd(app *App) *cobra.Command {
	opts := &configSetOptions{}
	keys := make([]string, 0, len(config.Settings))
	for _, s := range config.Settings {
		keys = append(keys, s.Key)
	}
	return &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Write a setting to apkit's config file",
		Long:  configSetLong,
		Example: `  apkit config set signing_key ~/.config/apkit/keys/jane@example.org-65a1f0c2.rsa
  apkit config set packager "Jane Doe <jane@example.org>"
  apkit config set lint_skip custom-variable,indent-tabs`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return keys, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveDefault
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.key, opts.value = args[0], args[1]
			return runConfigSet(cmd.Context(), app, opts)
		},
	}
}

func runConfigSet(_ context.Context, app *App, opts *configSetOptions) error {
	file := app.global.configFile
	if file == "" {
		home := app.Getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		file = config.ConfigFile(app.Getenv, home)
	}
	if err := config.SetSetting(file, opts.key, opts.value); err != nil {
		return err
	}
	app.IO.Infof("set %s in %s", opts.key, file)
	return nil
}

func runConfig(_ context.Context, app *App, opts *configOptions) error {
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	info := configInfo{File: cfg.File, Settings: []configSetting{}}
	for _, s := range config.Settings {
		info.Settings = append(info.Settings, configSetting{
			Key:    s.Key,
			Value:  cfg.Value(s.Key),
			Source: string(cfg.Sources[s.Key]),
			Origin: cfg.Origins[s.Key],
			Help:   s.Help,
		})
	}
	if opts.json {
		return writeJSONLine(app.IO.Out, info)
	}
	tw := tabwriter.NewWriter(app.IO.Out, 0, 4, 2, ' ', 0)
	for _, s := range info.Settings {
		src := s.Source
		if s.Origin != "" {
			src += " (" + s.Origin + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, s.Value, src)
	}
	return tw.Flush()
}
