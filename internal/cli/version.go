package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at release time with -ldflags "-X github.com/apkit-dev/apkit/internal/cli.Version=v1.2.3".
// When empty, the module version from the build info is used ("devel" in a
// source tree).
var Version = ""

// Commit is set at release time with -ldflags "-X github.com/apkit-dev/apkit/internal/cli.Commit=<hash>",
// for builds made without VCS information (from a source tarball, or with
// -buildvcs=false). When empty, the vcs.revision of the build info is used.
var Commit = ""

type versionOptions struct {
	json bool
}

// versionInfo is the JSON form of `apkit version --json`.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func newVersionCmd(app *App) *cobra.Command {
	opts := &versionOptions{}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print apkit's version, commit and Go version",
		Long:    "Print the version of apkit, the commit it was built from and the Go version that built it.",
		Example: "  apkit version\n  apkit version --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), app, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON")
	return cmd
}

func buildVersion() versionInfo {
	v := versionInfo{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.modified":
				if s.Value == "true" && Commit == "" && v.Commit != "" {
					v.Commit += "-dirty"
				}
			}
		}
	}
	if v.Version == "" || v.Version == "(devel)" {
		v.Version = "devel"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func runVersion(_ context.Context, app *App, opts *versionOptions) error {
	v := buildVersion()
	if opts.json {
		return writeJSONLine(app.IO.Out, v)
	}
	_, err := fmt.Fprintf(app.IO.Out, "apkit %s\n", v)
	return err
}

// String is the version line without the program name, as apkit version
// and apkit --version print it.
func (v versionInfo) String() string {
	return fmt.Sprintf("%s (commit %s, %s, %s)", v.Version, v.Commit, v.GoVersion, v.Platform)
}
