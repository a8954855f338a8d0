package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/sandbox"
)

// scriptDir is where apk writes a script before running it, in the root.
const scriptDir = "lib/apk/exec"

// scriptPath is the environment scripts run with, as apk sets it.
const scriptPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

// ScriptRunner runs a package script inside a root: the root is the
// process's /, script is the script's absolute path there and args follow
// it. Output is what the script printed. Implementations must be safe for
// concurrent use.
type ScriptRunner interface {
	RunScript(ctx context.Context, root, script string, args []string) (output []byte, err error)
}

// BwrapScripts runs scripts under bubblewrap with the root mounted
// read-write as /, as apk runs them chrooted: no network, a fresh /dev,
// /proc and /tmp, user and group 0, and only PATH in the environment. When
// the caller is not root, user 0 is the caller mapped in a user namespace of
// one ID: a script that gives files to other users (chown) fails there.
// The zero value uses "bwrap" from PATH.
type BwrapScripts struct {
	// Path is the bwrap executable ("" means "bwrap" from PATH).
	Path string
}

// RunScript runs script in root under bubblewrap.
func (b BwrapScripts) RunScript(ctx context.Context, root, script string, args []string) ([]byte, error) {
	bw := &sandbox.Bwrap{Path: b.Path, RootFS: root, WritableRoot: true, AsRoot: true, Hostname: "localhost"}
	var out bytes.Buffer
	err := bw.Run(ctx, &sandbox.Spec{
		Args:   append([]string{script}, args...),
		Dir:    "/",
		Env:    []string{scriptPath},
		Stdout: &out,
		Stderr: &out,
	})
	return out.Bytes(), err
}

// runScript runs the package's script of type typ, when it has one, as apk
// does: written to /lib/apk/exec, run with args, then removed. A failure
// marks the package's script broken.
func (in *installer) runScript(ip *Installed, typ string, args []string) {
	i := slices.IndexFunc(ip.Scripts, func(s apk.Script) bool { return s.Name == "."+typ })
	if i < 0 {
		return
	}
	name := ip.Record.Name + "-" + ip.Record.Version + "." + typ
	if in.opts.NoScripts {
		in.logf("skipping %s (scripts are off)", name)
		return
	}
	rel := path.Join(scriptDir, name)
	// A script may change any part of the tree.
	in.forgetDirs()
	err := in.writeScript(rel, ip.Scripts[i].Data)
	if err == nil {
		in.logf("Executing %s", name)
		in.res.Scripts = append(in.res.Scripts, name)
		var out []byte
		out, err = in.runner().RunScript(in.ctx, in.dir, "/"+rel, args)
		if len(out) > 0 {
			in.logf("%s", strings.TrimRight(string(out), "\n"))
		}
	}
	in.root.Remove(rel)
	if err != nil {
		in.lastScriptErr = fmt.Errorf("%s: %w", name, err)
		if !strings.Contains(ip.Broken, "s") {
			ip.Broken += "s"
		}
		in.logf("ERROR: %s", in.lastScriptErr)
	}
}

func (in *installer) runner() ScriptRunner {
	if in.opts.Scripts != nil {
		return in.opts.Scripts
	}
	return BwrapScripts{}
}

func (in *installer) writeScript(rel string, data []byte) error {
	if err := in.root.MkdirAll(scriptDir, 0o755); err != nil {
		return err
	}
	in.root.Remove(rel)
	f, err := in.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runTriggers runs the trigger scripts as apk does at the end of a commit:
// a package installed now is triggered by every directory of the root's
// packages that matches one of its globs, one installed before by the
// directories this call installed files into. The matching directories are
// the script's arguments.
func (in *installer) runTriggers() error {
	in.forgetDirs()
	all := map[string]bool{}
	for _, p := range in.db.Packages {
		for _, d := range p.Dirs {
			for n := d.Name; n != "." && n != ""; n = path.Dir(n) {
				all[n] = true
			}
		}
	}
	dirs := make([]string, 0, len(all))
	for d := range all {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	var errs []error
	for _, p := range in.db.Packages {
		if len(p.Triggers) == 0 || strings.Contains(p.Broken, "s") {
			continue
		}
		fresh := slices.Contains(in.res.Installed, p)
		var args []string
		for _, d := range dirs {
			if !fresh && !in.touched[d] {
				continue
			}
			for _, glob := range p.Triggers {
				if !strings.HasPrefix(glob, "/") {
					continue
				}
				if ok, _ := path.Match(glob, "/"+d); ok {
					args = append(args, "/"+d)
					break
				}
			}
		}
		if len(args) == 0 {
			continue
		}
		in.runScript(p, "trigger", args)
		if strings.Contains(p.Broken, "s") {
			errs = append(errs, in.lastScriptErr)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("triggers: %w", errors.Join(errs...))
	}
	return nil
}
