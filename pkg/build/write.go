package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// ErrNoKey reports a build that would write packages without a signing key
// ([Options].Key is empty).
var ErrNoKey = errors.New("no signing key")

// ErrNoRepodest reports a build that would add packages to a repository
// without one ([Options].Repodest is empty).
var ErrNoRepodest = errors.New("no repository")

// loadKey reads the signing key; the build refuses to start without one
// when it is to write packages, as abuild does (§13).
func (b *builder) loadKey() error {
	if !b.want[PhasePackage] && !b.want[PhaseIndex] {
		return nil
	}
	if b.opts.Key == "" {
		return ErrNoKey
	}
	k, err := sign.LoadPrivateKey(b.opts.Key, b.opts.Passphrase)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	b.key = k
	return nil
}

// archDir is the repository directory a package goes to: its arch, or
// CARCH for noarch packages (§11).
func (b *builder) archDir(arch string) string {
	if arch == "noarch" {
		return b.opts.Arch
	}
	return arch
}

// write turns the packages into signed .apk files in the staging directory
// and, with the index phase, adds them to the repository, all or nothing.
func (b *builder) write(ctx context.Context, pkgs []*pkgBuild) ([]Package, error) {
	if writeHook != nil {
		return writeHook(ctx, b, pkgs)
	}
	if err := removeAll(b.d.staging); err != nil {
		return nil, err
	}
	mtime := time.Unix(b.sde, 0)
	var out []Package
	for _, pb := range pkgs {
		var scripts []apk.Script
		for _, s := range pb.scripts {
			data, err := os.ReadFile(s.Path)
			if err != nil {
				return nil, err
			}
			scripts = append(scripts, apk.Script{Name: s.Name, Mode: 0o755, Data: data})
		}
		dir := b.archDir(pb.arch)
		if err := os.MkdirAll(filepath.Join(b.d.staging, dir), 0o755); err != nil {
			return nil, err
		}
		path := filepath.Join(b.d.staging, dir, pb.info.FileName())
		if err := writeFileSync(path, func(f *os.File) error {
			p, err := apk.Write(f, &apk.Input{
				Info:    *pb.info,
				Scripts: scripts,
				Dir:     pb.dir,
				Key:     b.key,
				ModTime: mtime,
				Owner:   b.ownerFunc(pb.dir),
				TempDir: b.d.controldir,
			})
			if err != nil {
				return err
			}
			return checkIndexable(f, p)
		}); err != nil {
			return nil, fmt.Errorf("write %s: %w", pb.name, err)
		}
		b.infof("%s: wrote %s", pb.name, filepath.Base(path))
		out = append(out, Package{Name: pb.name, Version: pb.info.Version, Arch: pb.arch, Path: path})
	}
	if !b.want[PhaseIndex] {
		b.keepWork = true
		return out, nil
	}
	return b.addToRepo(ctx, out)
}

// checkIndexable refuses a package whose index record apk could not
// record (pkg/index's own check, on the record apk index would make of
// it), so that a package the index phase would refuse is never written.
// f is the package file, written up to its end.
func checkIndexable(f *os.File, p *apk.Package) error {
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := index.FromPackage(p, size).AppendText(nil); err != nil {
		return fmt.Errorf("index record: %w", err)
	}
	return nil
}

// staged lists the packages a previous package phase left in the staging
// directory, for an index-only run.
func (b *builder) staged() ([]Package, error) {
	paths, err := filepath.Glob(filepath.Join(b.d.staging, "*", "*.apk"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no packages in %s: run the package phase first", b.d.staging)
	}
	var out []Package
	for _, p := range paths {
		out = append(out, Package{Name: strings.TrimSuffix(filepath.Base(p), ".apk"), Arch: filepath.Base(filepath.Dir(p)), Path: p})
	}
	return out, nil
}

// addToRepo adds the packages to REPODEST/<repo>/<arch dir>/, updating and
// signing each index; a failure leaves the repository as it was.
func (b *builder) addToRepo(ctx context.Context, pkgs []Package) ([]Package, error) {
	if b.opts.Repodest == "" {
		return nil, ErrNoRepodest
	}
	mtime := time.Unix(b.sde, 0)
	byDir := map[string][]string{}
	var dirs []string
	for _, p := range pkgs {
		dir := filepath.Base(filepath.Dir(p.Path))
		if _, ok := byDir[dir]; !ok {
			dirs = append(dirs, dir)
		}
		byDir[dir] = append(byDir[dir], p.Path)
	}
	final := map[string]string{}
	desc := b.indexDescription(ctx)
	for _, dir := range dirs {
		r, err := repo.Open(filepath.Join(b.opts.Repodest, b.d.repo, dir), repo.Options{
			Arch:        dir,
			Description: desc,
			Key:         b.key,
			Now:         func() time.Time { return mtime },
		})
		if err != nil {
			return nil, err
		}
		added, err := r.Add(ctx, byDir[dir]...)
		if errors.Is(err, repo.ErrConflict) && b.opts.Replace {
			added, err = b.replaceInRepo(ctx, r, byDir[dir])
		}
		if err != nil {
			return nil, fmt.Errorf("add to repository %s: %w", r.Dir(), err)
		}
		for i, a := range added {
			final[byDir[dir][i]] = a.File
			b.infof("added %s to %s", filepath.Base(a.File), r.Dir())
		}
	}
	out := append([]Package(nil), pkgs...)
	for i := range out {
		if f, ok := final[out[i].Path]; ok {
			out[i].Path = f
		}
	}
	return out, nil
}

// indexDescription is the index's DESCRIPTION as abuild's
// update_abuildrepo_index writes it: the repository name, a space, and what
// "git describe" says in the recipe directory (nothing outside git, or when
// no tag describes the commit), so "main " at least.
func (b *builder) indexDescription(ctx context.Context) string {
	if b.opts.IndexDescription != "" {
		return b.opts.IndexDescription
	}
	var describe string
	cmd := exec.CommandContext(ctx, "git", "-C", b.d.startdir, "describe")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.Output(); err == nil {
		describe = strings.TrimRight(string(out), "\n")
	}
	return b.d.repo + " " + describe
}

// replaceInRepo takes the packages of the same file names as paths out of
// r, then adds paths. Unlike Add alone it is not all or nothing: a failed
// Add leaves those packages removed.
func (b *builder) replaceInRepo(ctx context.Context, r *repo.Repo, paths []string) ([]repo.Added, error) {
	for _, p := range paths {
		name := filepath.Base(p)
		if _, err := os.Stat(filepath.Join(r.Dir(), name)); err != nil {
			continue
		}
		if _, err := r.Remove(ctx, name); err != nil && !errors.Is(err, repo.ErrNotFound) {
			return nil, err
		}
		b.infof("replacing %s in %s", name, r.Dir())
	}
	return r.Add(ctx, paths...)
}

// writeFileSync creates path, lets fill write it, and syncs it.
func writeFileSync(path string, fill func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
