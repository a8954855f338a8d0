package cli_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"jsonl": cmdJSONLines,
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

// cmdJSONLines checks that stdout (of the last exec) is JSON Lines: each
// line one compact JSON object. "jsonl stdout N" also checks that there
// are N lines.
func cmdJSONLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! jsonl")
	}
	if len(args) < 1 || len(args) > 2 || args[0] != "stdout" {
		ts.Fatalf("usage: jsonl stdout [lines]")
	}
	out := ts.ReadFile("stdout")
	if out == "" || !strings.HasSuffix(out, "\n") {
		ts.Fatalf("stdout is empty or does not end in a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			ts.Fatalf("stdout line %d is not a JSON object: %v: %q", i+1, err, l)
		}
	}
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		if err != nil {
			ts.Fatalf("jsonl: %v", err)
		}
		if len(lines) != n {
			ts.Fatalf("stdout has %d JSON lines, want %d", len(lines), n)
		}
	}
}
