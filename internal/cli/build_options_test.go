package cli

import (
	"errors"
	"fmt"
	"strings"
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
		{"defaults", []string{}, buildOptions{sandbox: "auto", parallel: 1}},
		{"everything", []string{"--repodest", "/r", "--repo", "community", "--key", "/k.rsa", "--no-check", "--no-deps", "-K", "-j", "3", "--offline", "--sandbox", "bwrap", "--rootfs", "/root", "--phases", "unpack,prepare", "--json",
			"--force", "--keep-going", "--changed-since", "origin/main", "--parallel", "4", "a", "b"},
			buildOptions{paths: []string{"a", "b"}, repodest: "/r", repo: "community", key: "/k.rsa", noCheck: true, noDeps: true, keep: true, jobs: 3, offline: true, sandbox: "bwrap", rootfs: "/root", phases: "unpack,prepare", json: true,
				force: true, keepGoing: true, changedSince: "origin/main", parallel: 4}},
		{"abuild's flags", []string{"-rdfK", "-P", "/r", "-c", "-k", "/k.rsa", "a"},
			buildOptions{paths: []string{"a"}, repodest: "/r", key: "/k.rsa", noDeps: true, force: true, keep: true, abuildR: true, colorAlways: true, sandbox: "auto", parallel: 1}},
		{"abuild's -m", []string{"-m"}, buildOptions{colorNever: true, sandbox: "auto", parallel: 1}},
		{"path-prepend", []string{"--path-prepend", "/a:/b", "--path-prepend", "/c"}, buildOptions{pathPrepend: []string{"/a:/b", "/c"}, sandbox: "auto", parallel: 1}},
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
		{"path-prepend", buildOptions{pathPrepend: []string{"/a:/b", "/c"}},
			build.Options{Arch: "aarch64", Repodest: "/home/u/packages", Srcdest: "/cache", Key: "/home/u/.abuild/u.rsa", Packager: "U <u@example.org>", Jobs: 8, Makeflags: "-j8", PathPrepend: []string{"/a", "/b", "/c"}}},
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

func TestBuildHint(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no key", fmt.Errorf("build x: %w", build.ErrNoKey), "build x: no signing key: create one with apkit keygen, or pass --key"},
		{"no repodest", fmt.Errorf("build x: phase index failed: %w", build.ErrNoRepodest), "build x: phase index failed: no repository: set --repodest"},
		{"missing deps", fmt.Errorf("build x: %w: gcc (no apk database here to install them from)", build.ErrMissingDeps),
			"build x: missing build dependencies: gcc (no apk database here to install them from); ways forward: " +
				"build in an Alpine root apkit installs with them from Alpine's mirror with --alpine RELEASE (e.g. --alpine edge), install them on this host and pass --no-deps (-d), or build in an Alpine root that has them with --rootfs DIR"},
		{"no checksum", fmt.Errorf("build x: f.tar.gz: %w", build.ErrNoChecksum), "build x: f.tar.gz: no sha512sums entry; run apkit checksum to record the checksums of the recipe's sources, or apkit bump --pkgver VERSION to change pkgver and the checksums together"},
		{"other", errors.New("build x: boom"), "build x: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := buildHint(tt.err)
			if diff := cmp.Diff(tt.want, got.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("the hint lost the error it wraps")
			}
		})
	}
}

// TestLibraryErrorsNameNoFlags checks that pkg/build leaves command-line
// hints to the CLI.
func TestLibraryErrorsNameNoFlags(t *testing.T) {
	for _, err := range []error{build.ErrNoKey, build.ErrNoRepodest, build.ErrMissingDeps, build.ErrNoChecksum, build.ErrNoBuilddir} {
		if strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "apkit ") {
			t.Errorf("%q names the command line", err)
		}
	}
}
