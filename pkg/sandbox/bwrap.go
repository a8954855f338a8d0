package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Bwrap runs processes under bubblewrap. The zero value uses "bwrap" from
// the process's PATH and the host's root directory.
type Bwrap struct {
	// Path is the bwrap executable ("" means "bwrap" from PATH).
	Path string
	// RootFS is the directory mounted read-only as / ("" means the host's /).
	RootFS string
	// Hostname is the sandbox's host name ("" means "apkit-build").
	Hostname string
	// WritableRoot mounts RootFS read-write, for a process that changes
	// the root it runs in (a package's install script). It has no effect
	// without RootFS.
	WritableRoot bool
	// AsRoot runs the process as user and group 0: in a new user
	// namespace where only the caller's own IDs are mapped (to 0), or,
	// when the caller is root, in the caller's user namespace, where a
	// chown to any ID works as it does under chroot.
	AsRoot bool
}

// Name returns "bwrap".
func (b *Bwrap) Name() string { return string(ModeBwrap) }

func (b *Bwrap) path() string {
	if b.Path != "" {
		return b.Path
	}
	return "bwrap"
}

// hostSecrets are paths hidden when the host's root is the build root:
// users' homes, runtime sockets, password hashes and host keys.
var hostSecrets = []string{"/home", "/root", "/run", "/var/tmp", "/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/sudoers", "/etc/sudoers.d"}

// Args returns the bwrap arguments that run s (without the bwrap
// executable itself).
func (b *Bwrap) Args(s *Spec) []string {
	root := b.RootFS
	if root == "" {
		root = "/"
	}
	host := b.Hostname
	if host == "" {
		host = "apkit-build"
	}
	bindRoot := "--ro-bind"
	if b.WritableRoot && b.RootFS != "" {
		bindRoot = "--bind"
	}
	unshare := []string{"--unshare-all"}
	if b.AsRoot && os.Geteuid() == 0 {
		// Real root keeps its user namespace, where every ID can be
		// given: a script's chown to any user works as under chroot.
		unshare = []string{"--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"}
	}
	a := append(unshare,
		"--die-with-parent", "--new-session",
		"--hostname", host,
		bindRoot, root, "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
	)
	// A build root mounted read-only gets a fresh /var/tmp too, as abuild's
	// rootbld gives its builds.
	if b.RootFS != "" && !b.WritableRoot {
		if fi, err := os.Stat(filepath.Join(b.RootFS, "var", "tmp")); err == nil && fi.IsDir() {
			a = append(a, "--tmpfs", "/var/tmp")
		}
	}
	if s.Net {
		a = append(a, "--share-net")
		if b.RootFS != "" {
			a = append(a, "--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf")
		}
	}
	hide := append([]string(nil), s.Hide...)
	if b.RootFS == "" {
		hide = append(hide, hostSecrets...)
	}
	var ms []mount
	for _, h := range hide {
		switch filepath.Clean(h) {
		case "/", "/tmp", "/dev", "/proc":
			continue
		}
		if fi, err := os.Stat(h); err != nil {
			continue
		} else if fi.IsDir() {
			ms = append(ms, mount{h, mountHide})
		} else {
			ms = append(ms, mount{h, mountHideFile})
		}
	}
	if s.Net && b.RootFS == "" {
		// resolv.conf often points into /run, hidden above.
		if t, err := filepath.EvalSymlinks("/etc/resolv.conf"); err == nil && t != "/etc/resolv.conf" {
			ms = append(ms, mount{t, mountRO})
		}
	}
	for _, p := range s.ReadOnly {
		ms = append(ms, mount{p, mountRO})
	}
	for _, p := range s.Writable {
		ms = append(ms, mount{p, mountRW})
	}
	for _, m := range orderMounts(ms) {
		switch m.kind {
		case mountHide:
			a = append(a, "--tmpfs", m.path)
		case mountHideFile:
			a = append(a, "--ro-bind", "/dev/null", m.path)
		case mountRO:
			a = append(a, "--ro-bind", m.path, m.path)
		case mountRW:
			a = append(a, "--bind", m.path, m.path)
		}
	}
	for _, f := range s.Files {
		a = append(a, "--ro-bind", f.Host, f.Path)
	}
	if b.AsRoot && os.Geteuid() != 0 {
		a = append(a, "--unshare-user", "--uid", "0", "--gid", "0")
	}
	a = append(a, "--clearenv")
	for _, kv := range s.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		a = append(a, "--setenv", k, v)
	}
	dir := s.Dir
	if dir == "" && len(s.Writable) > 0 {
		dir = s.Writable[0]
	}
	if dir != "" {
		a = append(a, "--chdir", dir)
	}
	a = append(a, "--")
	return append(a, s.Args...)
}

// Run runs s under bubblewrap.
func (b *Bwrap) Run(ctx context.Context, s *Spec) error {
	if len(s.Args) == 0 {
		return errors.New("sandbox: empty command")
	}
	path, err := exec.LookPath(b.path())
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return startAndWait(ctx, path, b.Args(s), s, nil, "")
}

// ErrNotInstalled reports that the bwrap executable was not found.
var ErrNotInstalled = errors.New("bwrap is not installed (install the bubblewrap package: apk add bubblewrap, apt-get install bubblewrap)")

// Probe checks that bubblewrap is installed and can create its namespaces
// here by running "true" in a sandbox. The error says why not.
func (b *Bwrap) Probe(ctx context.Context) error {
	path, err := exec.LookPath(b.path())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	var stderr bytes.Buffer
	s := &Spec{Args: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}, Stderr: &stderr}
	if err := startAndWait(ctx, path, b.Args(s), s, nil, ""); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("bwrap cannot create a sandbox here: %s", msg)
	}
	return nil
}

// Options configure [Select].
type Options struct {
	// Mode chooses the runner; "" means [ModeAuto].
	Mode Mode
	// BwrapPath is the bubblewrap executable ("" means "bwrap" from PATH).
	BwrapPath string
	// RootFS is the read-only build root for bubblewrap ("" means /).
	RootFS string
}

var (
	probeMu    sync.Mutex
	probeCache = map[string]error{}
)

// Select returns the runner for opts.Mode. For [ModeAuto] it probes
// bubblewrap once per process (per executable and root) and falls back to
// [Plain]; the returned warning, empty otherwise, says why and how to get
// isolation. [ModeBwrap] fails when bubblewrap does not work. A RootFS
// that is not a directory with a /bin/sh fails first (see [CheckRoot]).
func Select(ctx context.Context, opts Options) (r Runner, warning string, err error) {
	b := &Bwrap{Path: opts.BwrapPath, RootFS: opts.RootFS}
	if opts.RootFS != "" {
		if err := CheckRoot(opts.RootFS); err != nil {
			return nil, "", err
		}
	}
	switch opts.Mode {
	case ModeNone:
		if opts.RootFS != "" {
			return nil, "", errors.New("sandbox none: a build root (rootfs) needs bwrap")
		}
		return Plain{}, "", nil
	case ModeBwrap:
		if err := probeOnce(ctx, b); err != nil {
			return nil, "", fmt.Errorf("sandbox bwrap: %w", err)
		}
		return b, "", nil
	case ModeAuto, "":
		if err := probeOnce(ctx, b); err != nil {
			if opts.RootFS != "" {
				return nil, "", fmt.Errorf("sandbox: a build root (rootfs) needs bwrap: %w", err)
			}
			why, how := err.Error(), "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; in a container, run it with --privileged or a seccomp profile that permits them)"
			if errors.Is(err, ErrNotInstalled) {
				// ErrNotInstalled names the package already.
				why, how = "bwrap is not installed", "install bubblewrap (apk add bubblewrap, or apt-get install bubblewrap)"
			}
			return Plain{}, fmt.Sprintf("building without isolation: %s; to build in a sandbox, %s; --sandbox none silences this warning", why, how), nil
		}
		return b, "", nil
	}
	return nil, "", fmt.Errorf("sandbox %q: not one of auto, bwrap, none", opts.Mode)
}

func probeOnce(ctx context.Context, b *Bwrap) error {
	key := b.path() + "\x00" + b.RootFS
	probeMu.Lock()
	defer probeMu.Unlock()
	if err, ok := probeCache[key]; ok {
		return err
	}
	err := b.Probe(ctx)
	if ctx.Err() != nil {
		return err // not cached: the probe was interrupted
	}
	probeCache[key] = err
	return err
}
