package install_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// Install a package from a local repository into an empty root, then read
// the root's database back.
func Example() {
	tmp, err := os.MkdirTemp("", "install-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	key, err := sign.LoadPrivateKey(filepath.Join("..", "sign", "testdata", "pkcs1.rsa"), nil)
	if err != nil {
		log.Fatal(err)
	}
	repo := filepath.Join(tmp, "repo")
	if err := exampleRepo(repo, key); err != nil {
		log.Fatal(err)
	}

	// Trust the repository's key, open it, and install what it offers.
	kr := &sign.Keyring{}
	kr.Add(key.Name, &key.Key.PublicKey)
	ctx := context.Background()
	r, err := install.OpenRepository(ctx, repo, "x86_64", kr, nil)
	if err != nil {
		log.Fatal(err)
	}
	root := filepath.Join(tmp, "root")
	plan := []install.Package{*r.Find("motd")}
	if _, err := install.Install(ctx, root, plan, &install.Options{
		Arch:         "x86_64",
		World:        []string{"motd"},
		Repositories: []string{repo},
	}); err != nil {
		log.Fatal(err)
	}

	db, err := install.ReadDatabase(root)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range db.Packages {
		fmt.Println(p.Record.Name, p.Record.Version)
		for _, d := range p.Dirs {
			for _, f := range d.Files {
				fmt.Printf("  %s/%s %o\n", d.Name, f.Name, f.ACL.Mode)
			}
		}
	}
	motd, _ := os.ReadFile(filepath.Join(root, "etc", "motd"))
	fmt.Print(string(motd))
	// Output:
	// motd 1.0-r0
	//   etc/motd 644
	// Welcome!
}

// exampleRepo writes a one-package repository signed by key.
func exampleRepo(repo string, key *sign.PrivateKey) error {
	stage, err := os.MkdirTemp("", "install-example-stage")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if err := os.Mkdir(filepath.Join(stage, "etc"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stage, "etc", "motd"), []byte("Welcome!\n"), 0o644); err != nil {
		return err
	}
	var buf bytes.Buffer
	p, err := apk.Write(&buf, &apk.Input{
		Info: apk.PkgInfo{Name: "motd", Version: "1.0-r0", Arch: "x86_64", License: "MIT", BuildDate: 1700000000},
		Dir:  stage,
		Key:  key,
	})
	if err != nil {
		return err
	}
	dir := filepath.Join(repo, "x86_64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "motd-1.0-r0.apk"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	ix := &index.Index{Records: []*index.Record{index.FromPackage(p, int64(buf.Len()))}}
	var ixBuf bytes.Buffer
	if err := index.WriteSigned(&ixBuf, ix, key, ""); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "APKINDEX.tar.gz"), ixBuf.Bytes(), 0o644)
}
