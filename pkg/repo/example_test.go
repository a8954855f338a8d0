package repo_test

import (
	"context"
	"fmt"
	"log"

	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// Example puts freshly built packages into a repository, signs its index,
// then takes an old package out. Several processes may do this at once on
// one directory.
func Example() {
	ctx := context.Background()
	key, err := sign.LoadPrivateKey("/home/builder/.abuild/builder@example.com-6748a2b1.rsa", nil)
	if err != nil {
		log.Fatal(err)
	}
	trusted, err := sign.LoadKeyring(sign.SystemKeysDir)
	if err != nil {
		log.Fatal(err)
	}
	r, err := repo.Open("/srv/packages/main/x86_64", repo.Options{
		Key:         key,     // signs APKINDEX.tar.gz; its packages are trusted too
		Keys:        trusted, // packages signed by these keys are accepted
		Description: "main v3.21.0-42-gabcdef0",
	})
	if err != nil {
		log.Fatal(err)
	}
	added, err := r.Add(ctx, "hello-2.12.1-r0.apk", "hello-doc-2.12.1-r0.apk")
	if err != nil {
		log.Fatal(err) // nothing changed: e.g. repo.ErrConflict, sign.ErrUntrusted
	}
	for _, a := range added {
		fmt.Println(a.File, a.Record.Checksum)
	}
	if _, err := r.Remove(ctx, "hello-2.11-r0"); err != nil {
		log.Fatal(err)
	}
}
