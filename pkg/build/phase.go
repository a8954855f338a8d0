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
// sandbox. net allows the network. In package() and the split functions,
// chown, chgrp and install -o/-g record the owner they are asked for (see
// owner.sh).
func (b *builder) runDriver(ctx context.Context, net bool, args ...string) error {
	argv := append([]string{"/bin/sh", "-c", driverScript, "apkit-phase"}, args...)
	if len(args) == 0 || (args[0] != "package" && args[0] != "split") {
		return b.runIn(ctx, b.d.startdir, net, argv...)
	}
	if err := b.workDirs(); err != nil {
		return err
	}
	env, err := b.ownerEnv()
	if err != nil {
		return err
	}
	if err := b.runEnv(ctx, b.d.startdir, net, env, argv...); err != nil {
		return err
	}
	return b.applyOwners()
}

// workDirs makes the work directories and the build's user database.
func (b *builder) workDirs() error {
	for _, d := range []string{b.d.srcdir, b.d.pkgbasedir, b.d.tmpdir, b.d.home, b.d.controldir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The work directories may have been cleaned since.
	if b.accts != nil {
		if _, err := os.Stat(b.accts.passwd); err != nil {
			b.accts = nil
		}
	}
	if b.accts == nil {
		root := b.opts.RootFS
		if root == "" {
			root = "/"
		}
		var users, groups []string
		if b.plan != nil {
			users, groups = fields(b.plan.vars["pkgusers"]), fields(b.plan.vars["pkggroups"])
		}
		a, err := newAccounts(root, b.d.controldir, users, groups)
		if err != nil {
			return err
		}
		b.accts = a
	}
	return nil
}

// runIn runs a command in the sandbox, in dir, with the phase environment.
func (b *builder) runIn(ctx context.Context, dir string, net bool, args ...string) error {
	return b.runEnv(ctx, dir, net, b.env, args...)
}

// runEnv runs a command in the sandbox, in dir, with the environment env.
func (b *builder) runEnv(ctx context.Context, dir string, net bool, env []string, args ...string) error {
	if err := b.workDirs(); err != nil {
		return err
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
		Env:      env,
		Stdout:   b.out,
		Stderr:   b.out,
		Writable: []string{b.d.srcdir, b.d.pkgbasedir, b.d.tmpdir},
		ReadOnly: ro,
		Hide:     b.hidden(),
		Net:      net,
		Files:    b.sandboxFiles(),
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
