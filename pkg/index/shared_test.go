package index_test

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir returns the shared fixtures directory. Without it the test is
// skipped, except in CI (CI set), where it fails.
func sharedDir(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("shared fixtures are missing and CI is set: %v", err)
	}
	t.Skip("shared Alpine fixtures are absent")
	return ""
}
