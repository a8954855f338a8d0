package alpinetest

import (
	"os"
	"path/filepath"
	"testing"
)

// Lookup returns the absolute path of the shared fixtures directory, or ""
// when it is absent. It is for callers that go on without the fixtures,
// such as fuzz targets whose seeds are optional; tests call [Shared].
// Lookup is safe for concurrent use.
func Lookup() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	// The module root is the nearest directory with go.mod, however deep
	// the test's package lies; the fixtures sit beside it.
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	p := filepath.Join(filepath.Dir(dir), "shared")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Shared returns the absolute path of the shared fixtures directory. When
// it is absent, Shared skips the test, or fails it when the environment
// variable CI is set.
func Shared(t testing.TB) string {
	t.Helper()
	p := Lookup()
	if p != "" {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("shared fixtures are missing and CI is set")
	}
	t.Skip("shared Alpine fixtures are absent")
	return ""
}

// Dir returns the absolute path of the real Alpine fixtures,
// testdata/alpine in the shared fixtures directory, skipping or failing
// the test as [Shared] does when they are absent.
func Dir(t testing.TB) string {
	t.Helper()
	return filepath.Join(Shared(t), "testdata", "alpine")
}
