package install_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
)

// shellPkg is a package holding the host's busybox as /bin/sh, with the
// shared libraries it needs, so that scripts can run in a test root.
func shellPkg(t *testing.T) testPkg {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("busybox is required in CI")
		}
		t.Skip("busybox is not installed")
	}
	p := testPkg{name: "shell", version: "1-r0", hostFiles: map[string]string{"bin/busybox": bb},
		files: []entry{{path: "bin/"}, {path: "bin/sh", content: "->busybox"}}}
	out, err := exec.Command("ldd", bb).Output()
	if err != nil {
		return p // static
	}
	for _, lib := range regexp.MustCompile(`(?m)(/\S+)`).FindAllString(string(out), -1) {
		if strings.HasPrefix(lib, "/") {
			p.hostFiles[strings.TrimPrefix(lib, "/")] = lib
		}
	}
	return p
}

func TestScriptsAndTriggers(t *testing.T) {
	t.Parallel()
	bw := sandboxtest.RequireBwrap(t)
	shell := shellPkg(t)
	greet := testPkg{name: "greet", version: "3.0-r1",
		files: []entry{{path: "usr/"}, {path: "usr/share/"}, {path: "usr/share/fonts/"}, {path: "usr/share/fonts/greet/"},
			{path: "usr/share/fonts/greet/a.ttf", content: "font"}},
		scripts: map[string]string{
			".pre-install":  "#!/bin/sh\nbusybox test -e /usr/share/fonts/greet/a.ttf && r=yes || r=no\nbusybox echo \"pre $1 $r\" >> /script.log\n",
			".post-install": "#!/bin/sh\nbusybox echo \"post $1 $(busybox cat /usr/share/fonts/greet/a.ttf)\" >> /script.log\nbusybox touch /owned && busybox chown 7:8 /owned\nbusybox echo \"uid $(busybox id -u)\" >> /script.log\n",
		}}
	fc := testPkg{name: "fontcache", version: "1-r0", files: []entry{{path: "etc/"}, {path: "etc/fc", content: "x"}},
		triggers: []string{"/usr/share/fonts/*"},
		scripts:  map[string]string{".trigger": "#!/bin/sh\nbusybox echo \"trigger $*\" >> /trigger.log\n"}}
	broken := testPkg{name: "broken", version: "1-r0", files: []entry{{path: "etc/"}, {path: "etc/broken", content: "b"}},
		scripts: map[string]string{".post-install": "#!/bin/sh\nexit 3\n"}}
	r, _ := testRepo(t, shell, greet, fc, broken)
	ctx := context.Background()
	root := t.TempDir()
	var logs []string
	opts := &install.Options{Arch: arch, Scripts: install.BwrapScripts{Path: bw.Path}, Log: func(m string) { logs = append(logs, m) }}
	res, err := install.Install(ctx, root, planOf(t, r, "shell", "fontcache", "greet"), opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(logs, "\n"))
	}
	log, _ := os.ReadFile(filepath.Join(root, "script.log"))
	want := "pre 3.0-r1 no\npost 3.0-r1 font\nuid 0\n"
	if string(log) != want {
		t.Errorf("script.log = %q, want %q\n%s", log, want, strings.Join(logs, "\n"))
	}
	fi, err := os.Stat(filepath.Join(root, "owned"))
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid := statOwner(fi); os.Geteuid() == 0 && (uid != 7 || gid != 8) {
		t.Errorf("chown in a script gave %d:%d, want 7:8", uid, gid)
	}
	trig, _ := os.ReadFile(filepath.Join(root, "trigger.log"))
	if string(trig) != "trigger /usr/share/fonts/greet\n" {
		t.Errorf("trigger.log = %q", trig)
	}
	if got := strings.Join(res.Scripts, " "); got != "greet-3.0-r1.pre-install greet-3.0-r1.post-install fontcache-1-r0.trigger" {
		t.Errorf("scripts run: %s", got)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "lib/apk/exec/*")); len(m) > 0 {
		t.Errorf("scripts left in lib/apk/exec: %v", m)
	}
	// The database keeps the scripts and the triggers.
	db, err := install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	if p := db.Find("fontcache"); p == nil || strings.Join(p.Triggers, " ") != "/usr/share/fonts/*" || len(p.Scripts) != 1 {
		t.Errorf("fontcache in the database: %+v", p)
	}
	if p := db.Find("greet"); p == nil || len(p.Scripts) != 2 || p.Scripts[1].Name != ".post-install" {
		t.Errorf("greet's scripts in the database: %+v", p)
	}

	// A failing script: the package is installed, marked broken, and the
	// install fails naming the script.
	_, err = install.Install(ctx, root, planOf(t, r, "broken"), opts)
	if err == nil || !strings.Contains(err.Error(), "broken-1-r0.post-install") {
		t.Errorf("err = %v, want the failed script named", err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("err = %v, want exit status 3", err)
	}
	db, err = install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	if p := db.Find("broken"); p == nil || p.Broken != "s" {
		t.Errorf("broken in the database: %+v", p)
	}
}

// NoScripts skips scripts and says so.
func TestNoScripts(t *testing.T) {
	t.Parallel()
	p := testPkg{name: "s", version: "1-r0", files: []entry{{path: "etc/"}, {path: "etc/s", content: "s"}},
		scripts: map[string]string{".post-install": "#!/bin/sh\nexit 1\n"}}
	r, _ := testRepo(t, p)
	ctx := context.Background()
	var logs []string
	res, err := install.Install(ctx, t.TempDir(), planOf(t, r, "s"), &install.Options{Arch: arch, NoScripts: true, Log: func(m string) { logs = append(logs, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scripts) != 0 || len(logs) != 1 || !strings.Contains(logs[0], "skipping s-1-r0.post-install") {
		t.Errorf("scripts %v, log %q", res.Scripts, logs)
	}
}
