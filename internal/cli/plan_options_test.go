package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"
)

func TestPlanFlagsParse(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want planOptions
	}{
		{"defaults", []string{}, planOptions{}},
		{"everything", []string{"-P", "/r", "--repo", "community", "--arch", "aarch64", "--json", "--strict", "--changed-since", "v1", "a", "b"},
			planOptions{paths: []string{"a", "b"}, repodest: "/r", repo: "community", arch: "aarch64", json: true, strict: true, changedSince: "v1"}},
		{"gitlab", []string{"--gitlab", "main"}, planOptions{paths: []string{"main"}, gitlab: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := &planOptions{}
			f := pflag.NewFlagSet("plan", pflag.ContinueOnError)
			got.addFlags(f)
			if err := f.Parse(tc.argv); err != nil {
				t.Fatal(err)
			}
			got.paths = f.Args()
			if d := cmp.Diff(tc.want, *got, cmp.AllowUnexported(planOptions{}), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
		})
	}
}
