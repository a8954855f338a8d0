package cli

import (
	"context"
	"fmt"
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
abuild.conf, read as shell the way abuild reads them), or the default.`

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
	return cmd
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
