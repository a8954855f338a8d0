package build

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// apkRoot returns the root whose apk database build dependencies are
// installed into ("" when there is none: not an Alpine host).
func (b *builder) apkRoot() string {
	root := b.opts.RootFS
	if root == "" {
		root = "/"
	}
	if _, err := os.Stat(filepath.Join(root, "lib/apk/db/installed")); err != nil {
		return ""
	}
	if _, err := exec.LookPath("apk"); err != nil {
		return ""
	}
	return root
}

// installDeps installs need as the virtual package .makedepends-<pkgname>
// where apk exists, and fails listing them elsewhere.
func (b *builder) installDeps(ctx context.Context, need []string) error {
	root := b.apkRoot()
	if root == "" {
		return fmt.Errorf("%w: %s (no apk database here to install them from)", ErrMissingDeps, strings.Join(need, " "))
	}
	virtual := ".makedepends-" + b.plan.pkgname
	args := []string{"--root", root, "add", "--no-interactive", "--virtual", virtual}
	if b.opts.Repodest != "" {
		if repo := filepath.Join(b.opts.Repodest, b.d.repo); isDirPath(repo) {
			args = append(args, "--repository", repo)
		}
	}
	args = append(args, need...)
	b.infof("Installing %s: %s", virtual, strings.Join(need, " "))
	apkCmd := sudoAPK()
	cmd := exec.CommandContext(ctx, apkCmd[0], append(apkCmd[1:], args...)...)
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apk add %s: %w", virtual, err)
	}
	b.cleanups = append(b.cleanups, func() {
		cmd := exec.Command(apkCmd[0], append(apkCmd[1:], "--root", root, "del", "--no-interactive", virtual)...)
		cmd.Stdout, cmd.Stderr = b.out, b.out
		if err := cmd.Run(); err != nil {
			b.warnf("apk del %s: %v", virtual, err)
		}
	})
	return nil
}

func isDirPath(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// sudoAPK is how apk is run with the privileges to install packages:
// directly as root, else through abuild-apk or sudo when they exist (as
// abuild's SUDO_APK).
func sudoAPK() []string {
	if os.Geteuid() == 0 {
		return []string{"apk"}
	}
	if p, err := exec.LookPath("abuild-apk"); err == nil {
		return []string{p}
	}
	if p, err := exec.LookPath("sudo"); err == nil {
		return []string{p, "-n", "apk"}
	}
	return []string{"apk"}
}
