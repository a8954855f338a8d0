package build

import (
	"context"
	"testing"
)

// benchOptions returns build options for benchmarks.
// TODO(build): write real packages once the package writer is available.
func benchOptions(b *testing.B, dir string) Options {
	writeHook = func(context.Context, *builder, []*pkgBuild) ([]Package, error) { return nil, nil }
	b.Cleanup(func() { writeHook = nil })
	return Options{Arch: "x86_64", Jobs: 1, SourceDateEpoch: 1700000000}
}
