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
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if err != nil {
		return ""
	}
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
