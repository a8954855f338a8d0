package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// benchOptions returns build options that write signed packages into a
// fresh repository under dir's parent.
func benchOptions(b *testing.B, dir string) Options {
	base := filepath.Dir(filepath.Dir(dir))
	k, err := sign.GenerateKey(nil, "bench@example.org", 2048, time.Unix(1700000000, 0))
	if err != nil {
		b.Fatal(err)
	}
	priv, err := sign.MarshalPrivateKey(k)
	if err != nil {
		b.Fatal(err)
	}
	key := filepath.Join(base, strings.TrimSuffix(k.Name, ".pub"))
	if err := os.WriteFile(key, priv, 0o600); err != nil {
		b.Fatal(err)
	}
	return Options{Arch: "x86_64", Jobs: 1, Key: key, Repodest: filepath.Join(base, "packages")}
}
