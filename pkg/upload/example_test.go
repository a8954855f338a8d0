package upload_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/apkit-dev/apkit/pkg/upload"
)

func ExamplePlan() {
	// A REPODEST tree as abuild leaves it: <repo>/<arch>/*.apk.
	dest, _ := os.MkdirTemp("", "repodest-")
	defer os.RemoveAll(dest)
	for _, p := range []string{"main/x86_64/hello-2.12.1-r0.apk", "main/x86_64/hello-doc-2.12.1-r0.apk", "community/aarch64/tool-1.0-r0.apk"} {
		os.MkdirAll(filepath.Join(dest, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dest, p), nil, 0o644)
	}
	// With a nil ArchFunc the arch is the directory's name; apkit upload
	// reads it from each package's .PKGINFO.
	groups, err := upload.Plan([]string{dest}, "", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range groups {
		fmt.Printf("%s/%s: %d package(s)\n", g.Repo, g.Arch, len(g.Files))
	}
	// Output:
	// community/aarch64: 1 package(s)
	// main/x86_64: 2 package(s)
}
