package cli_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestGettingStarted runs testdata/getting-started/*.txtar: scripts that
// follow a page of docs/ command for command, in a fresh home directory
// (no APKIT_CONFIG, so settings go where the page says). EXAMPLES is the
// source tree's examples/ and PORT a free TCP port on 127.0.0.1.
func TestGettingStarted(t *testing.T) {
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/getting-started",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
			// No host abuild configuration leaks in.
			env.Setenv("ABUILD_CONF", filepath.Join(env.WorkDir, "etc-abuild.conf"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("EXAMPLES", examples)
			port, err := freePort()
			if err != nil {
				return err
			}
			env.Setenv("PORT", strconv.Itoa(port))
			return nil
		},
	})
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
