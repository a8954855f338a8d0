package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/build"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/install/alpinekeys"
	"github.com/apkit-dev/apkit/pkg/sandbox"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// validAlpine reports whether v names an Alpine release as the mirror
// does: edge, or v followed by a major.minor version.
func validAlpine(v string) bool {
	if v == "edge" {
		return true
	}
	rest, ok := strings.CutPrefix(v, "v")
	major, minor, ok2 := strings.Cut(rest, ".")
	return ok && ok2 && isDigits(major) && isDigits(minor)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// alpineRoot returns the build.Options.Root of apkit build --alpine for
// the recipe in dir: the recipe's build dependencies and abuild's build
// environment installed from the mirror's release (and the local
// repositories, as abuild rootbld adds them) into a root cached under the
// cache directory, and a sandbox over it. The root is kept from pruning
// (apkit clean --roots) until held is released.
func alpineRoot(app *App, cfg *config.Config, release string, mode sandbox.Mode, dir string, bo *build.Options, held *heldRoots) func(context.Context, []string) (string, sandbox.Runner, error) {
	return func(ctx context.Context, need []string) (string, sandbox.Runner, error) {
		repo := bo.Repo
		if repo == "" {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return "", nil, err
			}
			repo = filepath.Base(filepath.Dir(abs))
		}
		arch := bo.Arch
		urls := install.MirrorRepositories(cfg.AlpineMirror, release, repo, bo.Repodest, arch)
		kr, err := sign.LoadKeyring(cfg.KeysDirs...)
		if err != nil {
			return "", nil, err
		}
		if err := alpinekeys.AddTo(kr, arch); err != nil {
			return "", nil, err
		}
		keys, err := install.AlpineKeys(arch)
		if err != nil {
			return "", nil, err
		}
		// The local repositories are signed with the build's own key.
		if bo.Key != "" {
			if data, err := os.ReadFile(bo.Key + ".pub"); err == nil {
				if pub, err := sign.ParsePublicKey(data); err == nil {
					name := filepath.Base(bo.Key) + ".pub"
					kr.Add(name, pub)
					keys = append(keys, install.KeyFile{Name: name, Data: data})
				}
			}
		}
		fetch := install.Fetch{Cache: filepath.Join(cfg.CacheDir, "apk"), Offline: bo.Offline}
		if fetch.Client, err = app.HTTPClient(); err != nil {
			return "", nil, err
		}
		// The solver's database is made while the indexes are read.
		solver, err := install.NewSolver("", arch)
		if err != nil {
			return "", nil, err
		}
		solver.BeforeIndex = reserveForIndex
		for _, u := range urls {
			fmt.Fprintf(progressOut(app, bo), ">>> Using repository %s\n", u)
			if _, err := solver.Open(ctx, u, "", kr, &fetch); err != nil {
				return "", nil, err
			}
		}
		repos := solver.Repositories()
		world := slices.Clone(install.BuildBase)
		world = append(world, need...)
		root, done, err := install.UseRoot(ctx, &install.CachedRoot{
			Cache:        filepath.Join(cfg.CacheDir, "roots"),
			Name:         release + "-" + arch,
			Repositories: repos,
			Solver:       solver,
			World:        world,
			Options: install.Options{
				Arch:         arch,
				Fetch:        fetch,
				Repositories: urls,
				Keys:         keys,
				Log:          func(msg string) { app.IO.Verbosef("%s", msg) },
			},
		})
		if err != nil {
			return "", nil, fmt.Errorf("alpine %s: %w", release, err)
		}
		held.add(done)
		fmt.Fprintf(progressOut(app, bo), ">>> Build root %s\n", root)
		runner, _, err := sandbox.Select(ctx, sandbox.Options{Mode: mode, RootFS: root})
		if err != nil {
			return "", nil, fmt.Errorf("alpine %s: %w", release, err)
		}
		return root, runner, nil
	}
}

// heldRoots are the cached roots the builds of one apkit build use, held
// until they are all done. It is safe for concurrent use.
type heldRoots struct {
	mu   sync.Mutex
	done []func()
}

func (h *heldRoots) add(done func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = append(h.done, done)
}

// release lets go of every root held.
func (h *heldRoots) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.done {
		f()
	}
	h.done = nil
}

// progressOut is where the build's progress goes (nowhere with -q).
func progressOut(app *App, bo *build.Options) io.Writer {
	if bo.Output != nil {
		return bo.Output
	}
	return io.Discard
}
