package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// ErrInvalidPackage is matched by a [Repository] error that refuses a
// package for what it is (422), not for what is already stored.
var ErrInvalidPackage = errors.New("invalid package")

// PackageValidator is the production [Validator]: it reads and verifies an
// uploaded package with pkg/apk (structure, datahash, every file's
// checksum) and, when Keys is set, requires a valid signature by one of
// them. It is safe for concurrent use.
type PackageValidator struct {
	// Keys are the trusted upload keys; nil checks integrity only.
	Keys *sign.Keyring
}

// Validate implements [Validator].
func (v PackageValidator) Validate(ctx context.Context, path string) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := apk.Verify(bufio.NewReaderSize(f, 256<<10), v.Keys, &apk.VerifyOptions{AllowUntrusted: v.Keys == nil})
	if res.Problem != apk.OK {
		if res.Err != nil {
			return nil, res.Err
		}
		return nil, errors.New(res.Problem.String())
	}
	if res.Package == nil || res.Package.Info == nil || res.Package.Info.Name == "" || res.Package.Info.Version == "" {
		return nil, errors.New("package has no name or version in .PKGINFO")
	}
	info := res.Package.Info
	return &Package{Name: info.Name, Version: info.Version, Arch: info.Arch}, nil
}

// Repositories is the production [Repository]: it adds packages with
// pkg/repo, which locks the directory, places the files and writes the new
// index atomically. It keeps one *repo.Repo per directory and is safe for
// concurrent use.
type Repositories struct {
	// Options are given to repo.Open for every directory (Arch is left to
	// the directory's name).
	Options repo.Options

	mu    sync.Mutex
	repos map[string]*repo.Repo
}

func (rs *Repositories) open(dir string) (*repo.Repo, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.repos[dir]; ok {
		return r, nil
	}
	r, err := repo.Open(dir, rs.Options)
	if err != nil {
		return nil, err
	}
	if rs.repos == nil {
		rs.repos = map[string]*repo.Repo{}
	}
	rs.repos[dir] = r
	return r, nil
}

// Add implements [Repository]. Its errors name the uploaded files, never
// paths on the server.
func (rs *Repositories) Add(ctx context.Context, dir string, files []File) error {
	r, err := rs.open(dir)
	if err != nil {
		return err
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	_, err = r.Add(ctx, paths...)
	if err == nil {
		return nil
	}
	name := "upload"
	for _, f := range files {
		if strings.Contains(err.Error(), f.Path) {
			name = f.Name
			break
		}
	}
	switch {
	case errors.Is(err, repo.ErrConflict):
		return fmt.Errorf("%s: %w", name, ErrConflict)
	case errors.Is(err, repo.ErrArch):
		return fmt.Errorf("%s: %w: %w", name, ErrInvalidPackage, repo.ErrArch)
	case errors.Is(err, repo.ErrBadName):
		return fmt.Errorf("%s: %w: %w", name, ErrInvalidPackage, repo.ErrBadName)
	}
	return err
}
