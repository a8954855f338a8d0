package build

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Reproducibility returns SOURCE_DATE_EPOCH and ABUILD_LAST_COMMIT for the
// recipe in startdir as abuild computes them (APKBUILD.md §4.4): the last
// git commit touching startdir when the APKBUILD is tracked (with "-dirty"
// when startdir has uncommitted changes other than the build's own work
// directories and log), and its committer time when
// clean, else the APKBUILD's modification time.
func Reproducibility(ctx context.Context, startdir string) (sde int64, commit string, err error) {
	apkbuild := filepath.Join(startdir, "APKBUILD")
	fi, err := os.Stat(apkbuild)
	if err != nil {
		return 0, "", err
	}
	mtime := fi.ModTime().Unix()
	git := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", startdir}, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	if _, err := exec.LookPath("git"); err != nil {
		return mtime, "", nil
	}
	if _, ok := git("ls-files", "--error-unmatch", "APKBUILD"); !ok {
		return mtime, "", nil
	}
	commit, ok := git("log", "-1", "--format=%H", "--", ".")
	if !ok || commit == "" {
		return mtime, "", nil
	}
	if st, ok := git("status", "--porcelain", "--", ".", ":(exclude)src", ":(exclude)pkg", ":(exclude)tmp", ":(exclude)build.log"); ok && st != "" {
		return mtime, commit + "-dirty", nil
	}
	ct, ok := git("log", "-1", "--format=%ct", "--", ".")
	if !ok {
		return mtime, commit, nil
	}
	t, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return mtime, commit, nil
	}
	return t, commit, nil
}

// sourceDate returns SOURCE_DATE_EPOCH and ABUILD_LAST_COMMIT as abuild's
// set_source_date does: values given in env (the environment abuild runs
// in) come first; a given commit that is not "-dirty" dates the build by
// its committer time; the rest comes from [Reproducibility].
func sourceDate(ctx context.Context, startdir string, env map[string]string) (int64, string, error) {
	sdeText, commit := env["SOURCE_DATE_EPOCH"], env["ABUILD_LAST_COMMIT"]
	var sde int64
	if sdeText != "" {
		v, err := strconv.ParseInt(sdeText, 10, 64)
		if err != nil || v < 0 {
			return 0, "", fmt.Errorf("SOURCE_DATE_EPOCH: %q is not a number of seconds", sdeText)
		}
		sde = v
	}
	if sdeText != "" && commit != "" {
		return sde, commit, nil
	}
	computedSDE, computedCommit, err := Reproducibility(ctx, startdir)
	if err != nil {
		return 0, "", err
	}
	switch {
	case sdeText != "":
		return sde, computedCommit, nil
	case commit == "":
		return computedSDE, computedCommit, nil
	}
	// The commit was given, the date was not.
	if !strings.HasSuffix(commit, "-dirty") && !strings.HasPrefix(commit, "-") {
		cmd := exec.CommandContext(ctx, "git", "-C", startdir, "log", "-1", "--format=%ct", commit, "--", ".")
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if out, err := cmd.Output(); err == nil {
			if t, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
				return t, commit, nil
			}
		}
	}
	fi, err := os.Stat(filepath.Join(startdir, "APKBUILD"))
	if err != nil {
		return 0, "", err
	}
	return fi.ModTime().Unix(), commit, nil
}
