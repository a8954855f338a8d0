package install_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/install"
)

func BenchmarkTmpSolverPath(b *testing.B) {
	r := realRepo(b)
	root := filepath.Join(b.TempDir(), "root")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kr, _ := install.Keyring("", "aarch64", "", true)
		s, err := install.NewSolver(root, "aarch64")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Open(context.Background(), r.URL, "", kr, nil); err != nil {
			b.Fatal(err)
		}
		plan, err := s.Solve(install.Request{Add: []string{"build-base", "avahi-ui-dev"}})
		if err != nil || len(plan.Changes) < 100 {
			b.Fatalf("solve: %v", err)
		}
		_ = plan.Lines()
	}
}
