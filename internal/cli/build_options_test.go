package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/build"
)

func TestBuildFlagsParse(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want buildOptions
	}{
		{"defaults", []string{}, buildOptions{sandbox: "auto"}},
		{"everything", []string{"--repodest", "/r", "--repo", "community", "--key", "/k.rsa", "--no-check", "--no-deps", "-K", "-j", "3", "--offline", "--sandbox", "bwrap", "--rootfs", "/root", "--phases", "unpack,prepare", "--json", "a", "b"},
			buildOptions{paths: []string{"a", "b"}, repodest: "/r", repo: "community", key: "/k.rsa", noCheck: true, noDeps: true, keep: true, jobs: 3, offline: true, sandbox: "bwrap", rootfs: "/root", phases: "unpack,prepare", json: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := &buildOptions{}
			f := pflag.NewFlagSet("build", pflag.ContinueOnError)
			got.addFlags(f)
			if err := f.Parse(tc.argv); err != nil {
				t.Fatal(err)
			}
			got.paths = f.Args()
			if d := cmp.Diff(tc.want, *got, cmp.AllowUnexported(buildOptions{}), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
		})
	}
}

func TestBuildPipelineOptions(t *testing.T) {
	cfg := &config.Config{Arch: "aarch64", Repodest: "/home/u/packages", Srcdest: "/cache", SigningKey: "/home/u/.abuild/u.rsa", Packager: "U <u@example.org>", Jobs: 8, Makeflags: "-j8"}
	tests := []struct {
		name string
		opts buildOptions
		want build.Options
	}{
		{"from config", buildOptions{}, build.Options{Arch: "aarch64", Repodest: "/home/u/packages", Srcdest: "/cache", Key: "/home/u/.abuild/u.rsa", Packager: "U <u@example.org>", Jobs: 8, Makeflags: "-j8"}},
		{"flags win", buildOptions{repodest: "/r", key: "/k.rsa", jobs: 2, repo: "testing", noCheck: true, keep: true, offline: true, rootfs: "/rootfs"},
			build.Options{Arch: "aarch64", Repodest: "/r", Repo: "testing", Srcdest: "/cache", Key: "/k.rsa", Packager: "U <u@example.org>", Jobs: 2, Makeflags: "-j2", NoCheck: true, Keep: true, Offline: true, RootFS: "/rootfs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pipelineOptions(cfg, &tc.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(build.Options{}, "Runner", "Progress", "Output")); d != "" {
				t.Errorf("pipeline options (-want +got):\n%s", d)
			}
		})
	}
}
