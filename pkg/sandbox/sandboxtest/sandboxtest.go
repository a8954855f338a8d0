package sandboxtest

import (
	"os"
	"testing"

	"github.com/apkit-dev/apkit/pkg/sandbox"
)

// RequireBwrap returns a bubblewrap runner that passed its probe. Without
// one it skips the test, or fails it when the environment variable CI is
// set.
func RequireBwrap(t testing.TB) *sandbox.Bwrap {
	t.Helper()
	b := &sandbox.Bwrap{}
	if err := b.Probe(t.Context()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("bubblewrap is required in CI: %v", err)
		}
		t.Skipf("bubblewrap is not usable here (install the bubblewrap package to run this test): %v", err)
	}
	return b
}
