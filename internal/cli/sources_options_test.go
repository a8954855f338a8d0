package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/source"
)

func TestSourceVerbFlagsParse(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		opts interface{ addFlags(*pflag.FlagSet) }
		want any
	}{
		{"fetch defaults", []string{}, &fetchOptions{}, &fetchOptions{sourceFlags: sourceFlags{jobs: 4}}},
		{"fetch everything", []string{"--offline", "-j", "2", "--json", "a", "b"}, &fetchOptions{},
			&fetchOptions{paths: []string{"a", "b"}, json: true, sourceFlags: sourceFlags{offline: true, jobs: 2}}},
		{"checksum", []string{"--jobs=8", "x"}, &checksumOptions{}, &checksumOptions{paths: []string{"x"}, sourceFlags: sourceFlags{jobs: 8}}},
		{"bump pkgver", []string{"--pkgver", "2.13", "--offline", "main/hello"}, &bumpOptions{},
			&bumpOptions{path: "main/hello", pkgver: "2.13", sourceFlags: sourceFlags{offline: true, jobs: 4}}},
		{"bump pkgrel", []string{"--pkgrel", "--json"}, &bumpOptions{}, &bumpOptions{pkgrel: true, json: true, sourceFlags: sourceFlags{jobs: 4}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := pflag.NewFlagSet("x", pflag.ContinueOnError)
			tc.opts.addFlags(f)
			if err := f.Parse(tc.argv); err != nil {
				t.Fatal(err)
			}
			switch o := tc.opts.(type) {
			case *fetchOptions:
				o.paths = f.Args()
			case *checksumOptions:
				o.paths = f.Args()
			case *bumpOptions:
				if f.NArg() > 0 {
					o.path = f.Arg(0)
				}
			}
			if d := cmp.Diff(tc.want, tc.opts, cmp.AllowUnexported(fetchOptions{}, checksumOptions{}, bumpOptions{}, sourceFlags{}), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
		})
	}
}

func TestSourceOptions(t *testing.T) {
	client := &http.Client{}
	app := NewApp(term.Test().Streams)
	app.HTTPClient = func() (*http.Client, error) { return client, nil }
	tests := []struct {
		name    string
		cfg     config.Config
		flags   sourceFlags
		want    source.Options
		wantErr string
	}{
		{"cache from config", config.Config{Srcdest: "/var/cache/distfiles"}, sourceFlags{jobs: 4},
			source.Options{Cache: "/var/cache/distfiles", Client: client, Jobs: 4}, ""},
		{"offline and jobs", config.Config{Srcdest: "/c"}, sourceFlags{offline: true, jobs: 1},
			source.Options{Cache: "/c", Client: client, Jobs: 1, Offline: true}, ""},
		{"no cache", config.Config{}, sourceFlags{jobs: 4}, source.Options{}, "no source cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sourceOptions(app, &tc.cfg, tc.flags, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(source.Options{}, "Client")); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if got.Client != client {
				t.Errorf("the app's HTTP client was not used")
			}
		})
	}
}
