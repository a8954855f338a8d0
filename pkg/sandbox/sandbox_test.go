package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/sandbox"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
)

// TestMain lets the test binary act as a helper inside the sandbox: with
// SANDBOX_TEST_DIAL set it tries to connect to that address and exits 0 on
// success, 1 otherwise.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SANDBOX_TEST_DIAL"); addr != "" {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const testPath = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

func run(t *testing.T, r sandbox.Runner, s *sandbox.Spec) (string, error) {
	t.Helper()
	var out bytes.Buffer
	s.Stdout, s.Stderr = &out, &out
	err := r.Run(context.Background(), s)
	return out.String(), err
}

func runners(t *testing.T) map[string]sandbox.Runner {
	return map[string]sandbox.Runner{"bwrap": sandboxtest.RequireBwrap(t), "none": sandbox.Plain{}}
}

func TestEnvironmentIsCleared(t *testing.T) {
	t.Setenv("SANDBOX_TEST_SECRET", "leak")
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := run(t, r, &sandbox.Spec{
				Args:     []string{"sh", "-c", "env; pwd"},
				Env:      []string{testPath, "FOO=bar baz"},
				Writable: []string{dir},
			})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				// Shells add these themselves.
				if strings.HasPrefix(l, "PWD=") || strings.HasPrefix(l, "SHLVL=") || strings.HasPrefix(l, "_=") || strings.HasPrefix(l, "OLDPWD=") {
					continue
				}
				got = append(got, l)
			}
			sort.Strings(got)
			want := []string{"FOO=bar baz", testPath, dir}
			sort.Strings(want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("environment and directory (-want +got):\n%s", d)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, r, &sandbox.Spec{Args: []string{"sh", "-c", "exit 3"}, Env: []string{testPath}, Writable: []string{t.TempDir()}})
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("err = %v, want exit status 3", err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := r.Run(ctx, &sandbox.Spec{Args: []string{"sleep", "10"}, Env: []string{testPath}, Writable: []string{t.TempDir()}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}

// TestBwrapIsolation proves what the sandbox forbids: writing outside the
// writable directories, reading hidden files, and the network.
func TestBwrapIsolation(t *testing.T) {
	b := sandboxtest.RequireBwrap(t)
	base := t.TempDir()
	work := filepath.Join(base, "work")
	recipe := filepath.Join(base, "recipe")
	keys := filepath.Join(base, "keys")
	for _, d := range []string{work, recipe, keys} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key := filepath.Join(keys, "me.rsa")
	if err := os.WriteFile(key, []byte("PRIVATE KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(recipe, "APKBUILD"), []byte("pkgname=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec := func(script string, net bool) *sandbox.Spec {
		return &sandbox.Spec{
			Args:     []string{"sh", "-c", script},
			Env:      []string{testPath, "SELF=" + self, "SANDBOX_TEST_ADDR=" + ln.Addr().String()},
			Writable: []string{work},
			ReadOnly: []string{recipe, self},
			Hide:     []string{keys},
			Net:      net,
		}
	}
	tests := []struct {
		name   string
		script string
		net    bool
		ok     bool
	}{
		{"write work dir", `echo hi > "` + work + `/f" && cat "` + work + `/f"`, false, true},
		{"read recipe", `cat "` + recipe + `/APKBUILD"`, false, true},
		{"write recipe dir", `echo x > "` + recipe + `/evil"`, false, false},
		// base lies in the sandbox's own /tmp: the write may succeed there
		// but must never reach the host (checked below).
		{"write beside work dir", `echo x > "` + base + `/evil" || true`, false, true},
		{"write usr", `echo x > /usr/evil`, false, false},
		{"write etc", `echo x > /etc/evil`, false, false},
		{"read hidden key", `cat "` + key + `"`, false, false},
		{"list hidden key dir", `test -z "$(ls -A "` + keys + `")"`, false, true},
		{"root home hidden", `test -z "$(ls -A /root)"`, false, true},
		{"shadow hidden", `! grep -q root /etc/shadow`, false, true},
		{"tmp is private and writable", `echo x > /tmp/sandbox-test-f`, false, true},
		{"dial without net", `SANDBOX_TEST_DIAL="$SANDBOX_TEST_ADDR" "$SELF"`, false, false},
		{"dial with net", `SANDBOX_TEST_DIAL="$SANDBOX_TEST_ADDR" "$SELF"`, true, true},
		{"own pid namespace", `test "$$" -lt 10`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, b, spec(tc.script, tc.net))
			if tc.ok && err != nil {
				t.Fatalf("want success, got %v\n%s", err, out)
			}
			if !tc.ok && err == nil {
				t.Fatalf("want failure, got success\n%s", out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(base, "evil")); err == nil {
		t.Error("sandbox wrote beside its work dir")
	}
	if got, _ := os.ReadFile(filepath.Join(work, "f")); string(got) != "hi\n" {
		t.Errorf("work dir file = %q, want %q", got, "hi\n")
	}
}

func TestSelect(t *testing.T) {
	ctx := context.Background()
	r, warn, err := sandbox.Select(ctx, sandbox.Options{Mode: sandbox.ModeNone})
	if err != nil || warn != "" || r.Name() != "none" {
		t.Fatalf("none: %v %q %v", r, warn, err)
	}
	r, warn, err = sandbox.Select(ctx, sandbox.Options{Mode: sandbox.ModeAuto, BwrapPath: "/nonexistent/bwrap"})
	if err != nil || r.Name() != "none" || !strings.Contains(warn, "install bubblewrap") {
		t.Fatalf("auto without bwrap: %v %q %v", r, warn, err)
	}
	if strings.Contains(warn, "\n") {
		t.Errorf("warning is not one line: %q", warn)
	}
	if n := strings.Count(warn, "apt-get install bubblewrap"); n != 1 {
		t.Errorf("warning names the package %d times, want once: %q", n, warn)
	}
	if _, _, err := sandbox.Select(ctx, sandbox.Options{Mode: sandbox.ModeBwrap, BwrapPath: "/nonexistent/bwrap"}); err == nil {
		t.Fatal("bwrap mode without bwrap: want error")
	}
	// A bwrap that cannot make namespaces (as in many CI containers).
	fake := filepath.Join(t.TempDir(), "bwrap")
	script := "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace,' >&2\necho 'likely because the kernel does not allow it' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r, warn, err = sandbox.Select(ctx, sandbox.Options{Mode: sandbox.ModeAuto, BwrapPath: fake})
	if err != nil || r.Name() != "none" || strings.Contains(warn, "\n") || !strings.Contains(warn, "No permissions to creating new namespace, likely") || !strings.Contains(warn, "user namespaces") {
		t.Fatalf("auto with a failing bwrap: %v %q %v", r, warn, err)
	}
	sandboxtest.RequireBwrap(t)
	r, warn, err = sandbox.Select(ctx, sandbox.Options{Mode: sandbox.ModeAuto})
	if err != nil || warn != "" || r.Name() != "bwrap" {
		t.Fatalf("auto with bwrap: %v %q %v", r, warn, err)
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"auto", "bwrap", "none", ""} {
		if _, err := sandbox.ParseMode(s); err != nil {
			t.Errorf("ParseMode(%q): %v", s, err)
		}
	}
	if _, err := sandbox.ParseMode("docker"); err == nil {
		t.Error("ParseMode(docker): want error")
	}
}

// TestBwrapFiles: Spec.Files shows a host file at another path, read-only.
func TestBwrapFiles(t *testing.T) {
	r := sandboxtest.RequireBwrap(t)
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\nsandboxqa:x:100:101:sandboxqa:/dev/null:/sbin/nologin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, r, &sandbox.Spec{
		Args:  []string{"sh", "-c", "grep sandboxqa /etc/passwd; echo x >> /etc/passwd && echo writable"},
		Env:   []string{testPath},
		Files: []sandbox.File{{Host: passwd, Path: "/etc/passwd"}},
	})
	if err == nil || !strings.Contains(out, "sandboxqa:x:100:101:") || strings.Contains(out, "writable") {
		t.Errorf("got %v:\n%s\nwant the bound passwd, read-only", err, out)
	}
}

// WritableRoot binds the root read-write; AsRoot asks for user 0, or keeps
// real root's own user namespace.
func TestBwrapWritableRootArgs(t *testing.T) {
	b := &sandbox.Bwrap{RootFS: "/srv/root", WritableRoot: true, AsRoot: true}
	args := strings.Join(b.Args(&sandbox.Spec{Args: []string{"/bin/true"}}), " ")
	if !strings.Contains(args, "--bind /srv/root / ") {
		t.Errorf("root not bound read-write: %s", args)
	}
	if os.Geteuid() == 0 {
		if strings.Contains(args, "--unshare-all") || strings.Contains(args, "--uid") {
			t.Errorf("real root should keep its user namespace: %s", args)
		}
	} else if !strings.Contains(args, "--unshare-user --uid 0 --gid 0") {
		t.Errorf("no user 0: %s", args)
	}
	ro := strings.Join((&sandbox.Bwrap{RootFS: "/srv/root"}).Args(&sandbox.Spec{Args: []string{"/bin/true"}}), " ")
	if !strings.Contains(ro, "--ro-bind /srv/root / ") || !strings.Contains(ro, "--unshare-all") {
		t.Errorf("default root not read-only: %s", ro)
	}
}
