package cli_test

import (
	"fmt"
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
// source tree's examples/ and PORT a free TCP port on 127.0.0.1. With
// APKIT_TEST_APK set to an apk-tools 2.x binary, [apk] steps check the
// result with Alpine's apk (as $APK).
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
			if err := setupHome(env); err != nil {
				return err
			}
			env.Setenv("EXAMPLES", examples)
			port, err := freePort()
			if err != nil {
				return err
			}
			env.Setenv("PORT", strconv.Itoa(port))
			// APKIT_TEST_APK names an apk-tools 2.x binary for [apk] steps.
			if apk := os.Getenv("APKIT_TEST_APK"); apk != "" {
				env.Setenv("APK", apk)
				env.Setenv("LD_LIBRARY_PATH", os.Getenv("LD_LIBRARY_PATH"))
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "apk":
				return os.Getenv("APKIT_TEST_APK") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
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
