package build

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/apkit-dev/apkit/pkg/sandbox"
)

// driverScript is the POSIX sh driver every recipe function runs through.
//
//go:embed driver.sh
var driverScript string

// DriverScript returns the sh driver's source, for inspection and tests.
func DriverScript() string { return driverScript }

// hidden lists host paths the sandbox hides: the signing key and the
// user's abuild and apkit configuration.
func (b *builder) hidden() []string {
	h := append([]string(nil), b.opts.Hide...)
	if b.opts.Key == "" {
		return h
	}
	// The key itself, and its directory (where the public key and often
	// other keys live) unless the build needs to see that directory.
	h = append(h, b.opts.Key)
	dir := filepath.Dir(b.opts.Key)
	for _, need := range []string{b.d.startdir, b.opts.Srcdest, b.opts.Repodest} {
		if need != "" && (need == dir || strings.HasPrefix(need, dir+string(filepath.Separator)) || dir == "/") {
			return h
		}
	}
	return append(h, dir)
}

// runDriver runs the driver with args (phase and its arguments) in the
// sandbox. net allows the network.
func (b *builder) runDriver(ctx context.Context, net bool, args ...string) error {
	return b.runIn(ctx, b.d.startdir, net, append([]string{"/bin/sh", "-c", driverScript, "apkit-phase"}, args...)...)
}

// runIn runs a command in the sandbox, in dir, with the phase environment.
func (b *builder) runIn(ctx context.Context, dir string, net bool, args ...string) error {
	for _, d := range []string{b.d.srcdir, b.d.pkgbasedir, b.d.tmpdir, b.d.home, b.d.controldir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	meta := filepath.Join(b.d.controldir, "meta")
	if err := os.Remove(meta); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ro := []string{b.d.startdir}
	if b.opts.Srcdest != "" {
		if fi, err := os.Stat(b.opts.Srcdest); err == nil && fi.IsDir() {
			ro = append(ro, b.opts.Srcdest)
		}
	}
	for _, d := range b.opts.PathPrepend {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			ro = append(ro, d)
		}
	}
	spec := &sandbox.Spec{
		Args:     args,
		Dir:      dir,
		Env:      b.env,
		Stdout:   b.out,
		Stderr:   b.out,
		Writable: []string{b.d.srcdir, b.d.pkgbasedir, b.d.tmpdir},
		ReadOnly: ro,
		Hide:     b.hidden(),
		Net:      net,
	}
	err := b.runner.Run(ctx, spec)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s", ee.ProcessState.String())
	}
	return err
}

// recipeNet reports whether the recipe's phases may use the network.
func (b *builder) recipeNet() bool {
	return b.opts.Net || b.plan.hasOption("net")
}
