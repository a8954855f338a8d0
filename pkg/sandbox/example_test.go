package sandbox_test

import (
	"context"
	"fmt"
	"os"

	"github.com/apkit-dev/apkit/pkg/sandbox"
)

func ExampleSelect() {
	ctx := context.Background()
	r, warning, err := sandbox.Select(ctx, sandbox.Options{Mode: sandbox.ModeAuto})
	if err != nil {
		panic(err)
	}
	if warning != "" {
		fmt.Fprintln(os.Stderr, "warning:", warning)
	}
	err = r.Run(ctx, &sandbox.Spec{
		Args:   []string{"sh", "-c", "echo hello from $0", r.Name()},
		Env:    []string{"PATH=/usr/bin:/bin"},
		Stdout: os.Stdout,
	})
	if err != nil {
		panic(err)
	}
}
