package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/apkit-dev/apkit/pkg/server"
)

// fakeValidator accepts files that start with "PKG name version arch\n"
// and refuses files whose second line is "BROKEN" (a bad checksum).
type fakeValidator struct{}

func (fakeValidator) Validate(ctx context.Context, path string) (*server.Package, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		return nil, errors.New("not a package")
	}
	var p server.Package
	if _, err := fmt.Sscanf(sc.Text(), "PKG %s %s %s", &p.Name, &p.Version, &p.Arch); err != nil {
		return nil, errors.New("not a package")
	}
	if sc.Scan() && sc.Text() == "BROKEN" {
		return nil, errors.New("checksum mismatch")
	}
	return &p, nil
}

func fakePackage(name, version, arch string) []byte {
	return fmt.Appendf(nil, "PKG %s %s %s\npayload of %s\n", name, version, arch, name)
}

// fakeRepo moves files into place under one lock and keeps an INDEX file
// listing them, so that tests of the HTTP layer can see what was added.
type fakeRepo struct {
	mu sync.Mutex
}

func (r *fakeRepo) Add(ctx context.Context, dir string, files []server.File) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range files {
		dst := filepath.Join(dir, f.Name)
		old, err := os.ReadFile(dst)
		if err == nil {
			cur, _ := os.ReadFile(f.Path)
			if !bytes.Equal(old, cur) {
				return fmt.Errorf("%s: %w", f.Name, server.ErrConflict)
			}
		}
	}
	for _, f := range files {
		if err := os.Rename(f.Path, filepath.Join(dir, f.Name)); err != nil {
			return err
		}
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".apk") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return os.WriteFile(filepath.Join(dir, server.IndexName), []byte(strings.Join(names, "\n")), 0o644)
}
