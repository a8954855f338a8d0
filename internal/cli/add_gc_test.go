package cli

import (
	"runtime/debug"
	"testing"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/resolve"
)

// TestPauseGC checks that reading indexes and installing run without the
// collector up to gcHeapBound, that the settings come back on resume, and
// that GOGC or GOMEMLIMIT in the environment leave the collector alone.
func TestPauseGC(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		percent int
	}{
		{name: "default", percent: -1},
		{name: "GOGC", env: map[string]string{"GOGC": "100"}, percent: 100},
		{name: "GOMEMLIMIT", env: map[string]string{"GOMEMLIMIT": "1GiB"}, percent: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := debug.SetGCPercent(100)
			defer debug.SetGCPercent(old)
			limit := debug.SetMemoryLimit(-1)
			app := &App{Getenv: func(k string) string { return tc.env[k] }}
			resume := pauseGC(app)
			if got := debug.SetGCPercent(-1); got != tc.percent {
				t.Errorf("GC percent while paused = %d, want %d", got, tc.percent)
			}
			debug.SetGCPercent(tc.percent)
			if tc.percent == -1 {
				if got := debug.SetMemoryLimit(-1); got != gcHeapBound {
					t.Errorf("memory limit while paused = %d, want %d", got, gcHeapBound)
				}
			}
			resume()
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("GC percent after resume = %d, want 100", got)
			}
			if got := debug.SetMemoryLimit(-1); got != limit {
				t.Errorf("memory limit after resume = %d, want %d", got, limit)
			}
		})
	}
}

// An install is reserved huge pages by the installed size of what it
// unpacks, up to maxInstallHeap; a small one, or one that only removes, is
// not.
func TestInstallHeap(t *testing.T) {
	pkg := func(name string, size int64) *index.Record {
		return &index.Record{Name: name, Version: "1-r0", InstalledSize: size}
	}
	for _, tc := range []struct {
		name    string
		changes []resolve.Change
		want    int
	}{
		{"small", []resolve.Change{{New: pkg("a", 600<<10)}}, 0},
		{"removal", []resolve.Change{{Old: pkg("a", 50<<20)}}, 0},
		{"kept", func() []resolve.Change { a := pkg("a", 50<<20); return []resolve.Change{{Old: a, New: a}} }(), 0},
		{"installs", []resolve.Change{{New: pkg("a", 3<<20)}, {New: pkg("b", 2<<20)}, {Old: pkg("c", 9<<20)}}, 18 << 20},
		{"upgrade", []resolve.Change{{Old: &index.Record{Name: "a", Version: "0-r0"}, New: pkg("a", 4<<20)}}, 16 << 20},
		{"large", []resolve.Change{{New: pkg("a", 1<<30)}}, maxInstallHeap},
	} {
		if got := installHeap(&resolve.Plan{Changes: tc.changes}); got != tc.want {
			t.Errorf("%s: %d bytes, want %d", tc.name, got, tc.want)
		}
	}
}
