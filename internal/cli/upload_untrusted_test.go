package cli

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// An upload signed by a key the server does not trust is refused with 422,
// and apkit upload shows the server's message, which names that key.
func TestE2EUploadUntrustedNamesKey(t *testing.T) {
	e := startE2E(t)
	stranger, err := sign.GenerateKey(rand.Reader, "stranger@example.test", 2048, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	repodest := filepath.Join(e.dir, "stranger-packages")
	buildTestPackage(t, filepath.Join(repodest, "main", "x86_64"), stranger, "strange", "1.0-r0", "x86_64", 10)
	unsigned := filepath.Join(e.dir, "unsigned-packages")
	buildTestPackage(t, filepath.Join(unsigned, "main", "x86_64"), nil, "unsigned", "1.0-r0", "x86_64", 10)
	tok, _ := e.idp.Token("job")
	env := map[string]string{"HOME": e.dir, "APKIT_CONFIG": filepath.Join(e.dir, "none.yaml"), "PATH": os.Getenv("PATH"), "APKIT_TOKEN": tok}

	code, _, stderr := runApkit(t, env, "upload", "--url", e.url, "--version", "v3.22", repodest)
	want := "signed with " + stranger.Name + ", which is not among the server's upload keys"
	if code != ExitFailure || !strings.Contains(stderr, "422") || !strings.Contains(stderr, want) {
		t.Errorf("upload: exit %d, stderr:\n%s\nwant 1 and a 422 naming the key (%q)", code, stderr, want)
	}
	code, _, stderr = runApkit(t, env, "upload", "--url", e.url, "--version", "v3.22", unsigned)
	if code != ExitFailure || !strings.Contains(stderr, "UNTRUSTED signature: the package is not signed") {
		t.Errorf("unsigned upload: exit %d, stderr:\n%s", code, stderr)
	}
}
