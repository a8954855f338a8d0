package repo_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// Example builds a package, puts it into a repository, whose index it signs,
// adds it again (a no-op), then takes it out. Any number of goroutines and
// processes may do this at once on one directory.
func Example() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "repo-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	// The signing key: normally sign.LoadPrivateKey of the configured key.
	key, err := sign.GenerateKey(nil, "builder@example.com", 2048, time.Unix(0x6748a2b1, 0))
	if err != nil {
		log.Fatal(err)
	}

	// A package, as the build writes it.
	tree := filepath.Join(tmp, "pkgdir")
	os.MkdirAll(filepath.Join(tree, "usr", "bin"), 0o755)
	os.WriteFile(filepath.Join(tree, "usr", "bin", "hello"), []byte("#!/bin/sh\necho hello\n"), 0o755)
	pkg := filepath.Join(tmp, "hello-2.12.1-r0.apk")
	f, err := os.Create(pkg)
	if err != nil {
		log.Fatal(err)
	}
	_, err = apk.Write(f, &apk.Input{
		Info: apk.PkgInfo{Name: "hello", Version: "2.12.1-r0", Arch: "x86_64", License: "MIT",
			Description: "Friendly greeting", URL: "https://example.com/", BuildDate: 1700000000, Origin: "hello"},
		Dir: tree,
		Key: key,
	})
	f.Close()
	if err != nil {
		log.Fatal(err)
	}

	// The repository: <repo>/<arch>. Packages must be signed by a trusted
	// key (Keys, e.g. sign.LoadKeyring(sign.SystemKeysDir)) or by Key.
	r, err := repo.Open(filepath.Join(tmp, "main", "x86_64"), repo.Options{
		Key:         key,
		Description: "main v3.21.0-42-gabcdef0",
	})
	if err != nil {
		log.Fatal(err)
	}
	added, err := r.Add(ctx, pkg)
	if err != nil {
		log.Fatal(err) // nothing changed: e.g. repo.ErrConflict, sign.ErrUntrusted
	}
	fmt.Println(filepath.Base(added[0].File), added[0].Record.Name, added[0].Record.Version, added[0].Unchanged)

	again, err := r.Add(ctx, pkg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("again:", again[0].Unchanged)

	removed, err := r.Remove(ctx, "hello")
	if err != nil {
		log.Fatal(err)
	}
	ix, err := r.Index()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("removed", len(removed), "left", len(ix.Records), ix.Description)
	// Output:
	// hello-2.12.1-r0.apk hello 2.12.1-r0 false
	// again: true
	// removed 1 left 0 main v3.21.0-42-gabcdef0
}
