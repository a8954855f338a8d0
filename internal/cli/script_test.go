package cli_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/apkit-dev/apkit/internal/cli"
	"github.com/apkit-dev/apkit/pkg/alpinetest"
)

var update = flag.Bool("update", false, "rewrite testscript files and golden files")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"apkit": func() { os.Exit(cli.Main()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			if err := setupHome(env); err != nil {
				return err
			}
			env.Setenv("APKIT_CONFIG", filepath.Join(env.WorkDir, "apkit.yaml"))
			env.Setenv("SHARED", alpinetest.Lookup())
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "shared":
				// [shared] holds when the shared Alpine fixtures are present.
				// In CI they must be: a missing copy fails instead of skipping.
				if alpinetest.Lookup() == "" && os.Getenv("CI") != "" {
					return false, errors.New("shared fixtures are missing and CI is set")
				}
				return alpinetest.Lookup() != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// setupHome gives a script a fresh home directory in its work directory,
// with the XDG config and cache directories inside it, an abuild.conf path
// that does not exist (no host abuild configuration leaks in), and no
// colour.
func setupHome(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	env.Setenv("HOME", home)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	env.Setenv("ABUILD_CONF", filepath.Join(env.WorkDir, "etc-abuild.conf"))
	env.Setenv("NO_COLOR", "1")
	return nil
}
