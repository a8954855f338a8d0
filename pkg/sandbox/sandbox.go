package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Mode is the user's choice of runner: auto, bwrap or none.
type Mode string

// The runner modes accepted by [Select].
const (
	ModeAuto  Mode = "auto"
	ModeBwrap Mode = "bwrap"
	ModeNone  Mode = "none"
)

// ParseMode checks s against the known modes.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeBwrap, ModeNone:
		return m, nil
	case "":
		return ModeAuto, nil
	}
	return "", fmt.Errorf("sandbox %q: not one of auto, bwrap, none", s)
}

// Spec describes one sandboxed process. Paths are absolute host paths; the
// process sees each of them at the same path.
type Spec struct {
	// Args is the command and its arguments; Args[0] is looked up in the
	// sandbox's PATH (from Env).
	Args []string
	// Dir is the working directory ("" means the first Writable directory).
	Dir string
	// Env is the complete environment, KEY=VALUE. Nothing is inherited.
	Env []string
	// Stdin, Stdout and Stderr are the process's streams; nil means
	// /dev/null for Stdin and discarding output.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Writable lists directories the process may write (they must exist).
	Writable []string
	// ReadOnly lists paths bound read-only, visible even inside a hidden
	// directory (for example the recipe directory under the user's home).
	ReadOnly []string
	// Hide lists host paths replaced by empty directories, for example
	// the user's home and the directory of a private key.
	Hide []string
	// Net keeps the host's network; otherwise the process has none.
	Net bool
	// Files binds host files read-only over paths in the sandbox, for
	// example the build's own /etc/passwd. The plain runner cannot do
	// that and ignores them.
	Files []File
}

// File is a host file shown at another path in the sandbox.
type File struct {
	Host string // the file on the host
	Path string // where the sandbox sees it
}

// Runner runs a [Spec]. Implementations are safe for concurrent use.
type Runner interface {
	// Name is "bwrap" or "none".
	Name() string
	// Run starts the process and waits for it. A non-zero exit is an
	// *exec.ExitError wrapped with the command name.
	Run(ctx context.Context, s *Spec) error
}

// waitDelay is how long a cancelled process's output may still drain.
const waitDelay = 2 * time.Second

func startAndWait(ctx context.Context, name string, args []string, s *Spec, env []string, dir string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = dir
	cmd.Stdin = s.Stdin
	cmd.Stdout = s.Stdout
	cmd.Stderr = s.Stderr
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	// A process group of its own, so cancelling kills everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Plain runs the process directly, without isolation: only the environment
// is cleared and the working directory set. The zero value is ready to use.
type Plain struct{}

// Name returns "none".
func (Plain) Name() string { return string(ModeNone) }

// Run runs s as an ordinary child process.
func (Plain) Run(ctx context.Context, s *Spec) error {
	if len(s.Args) == 0 {
		return errors.New("sandbox: empty command")
	}
	path, err := lookPath(s.Args[0], s.Env)
	if err != nil {
		return err
	}
	dir := s.Dir
	if dir == "" && len(s.Writable) > 0 {
		dir = s.Writable[0]
	}
	return startAndWait(ctx, path, s.Args[1:], s, s.Env, dir)
}

// lookPath finds file in the PATH of env (not of this process).
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range strings.Split(path, ":") {
		if d == "" {
			d = "."
		}
		p := d + "/" + file
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("sandbox: %s: %w", file, exec.ErrNotFound)
}
