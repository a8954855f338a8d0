package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/internal/cli"
	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
)

// TestIndexExitCodes maps apkit index invocations to exit codes and
// messages: usage errors 2, failing packages 3, other failures 1.
func TestIndexExitCodes(t *testing.T) {
	shared := alpinetest.Shared(t)
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "home", ".config"))
	t.Setenv("APKIT_CONFIG", filepath.Join(dir, "apkit.yaml"))
	t.Setenv("ABUILD_CONF", filepath.Join(dir, "abuild.conf"))
	t.Setenv("APKIT_APK_KEYS_DIR", filepath.Join(dir, "no-system-keys"))
	t.Setenv("APKIT_SIGNING_KEY", "")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	alpine := filepath.Join(shared, "testdata", "alpine")
	pkg := filepath.Join(alpine, "test_alpine.apk")
	keys := filepath.Join(alpine, "keys")
	bad := filepath.Join(dir, "bad.apk")
	raw, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-40] ^= 0xff
	os.WriteFile(bad, raw, 0o644)
	out := filepath.Join(dir, "out.tar.gz")

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"indexed", []string{"index", "--no-sign", "--keys-dir", keys, "-o", out, pkg}, 0, "Index has 1 packages (of which 1 are new)"},
		{"no arguments", []string{"index", "--no-sign"}, 2, "requires at least 1 arg"},
		{"no key", []string{"index", "-o", out, pkg}, 2, "no signing key"},
		{"key and no-sign", []string{"index", "--no-sign", "--key", "k.rsa", "-o", out, pkg}, 2, "cannot be used together"},
		{"json to stdout", []string{"index", "--no-sign", "--json", pkg}, 2, "--json needs -o FILE"},
		{"untrusted", []string{"index", "--no-sign", "-o", out, pkg}, 3, "UNTRUSTED signature"},
		// The damage is in the data segment, which only --verify-data reads.
		{"damaged data", []string{"index", "--no-sign", "--keys-dir", keys, "-o", out, bad}, 0, "Index has 1 packages"},
		{"damaged data verified", []string{"index", "--no-sign", "--verify-data", "--keys-dir", keys, "-o", out, bad}, 3, "bad.apk: "},
		{"missing", []string{"index", "--no-sign", "-o", out, filepath.Join(dir, "nope.apk")}, 1, "no such file"},
		{"missing key", []string{"index", "--key", filepath.Join(dir, "nope.rsa"), "-o", out, pkg}, 1, "nope.rsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io := term.Test()
			code := cli.Run(context.Background(), io.Streams, tt.args)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, io.ErrBuf)
			}
			if !strings.Contains(io.ErrBuf.String(), tt.stderr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.stderr, io.ErrBuf)
			}
		})
	}

	// Standard output carries the index itself when no -o is given.
	io := term.Test()
	if code := cli.Run(context.Background(), io.Streams, []string{"index", "--no-sign", "--keys-dir", keys, pkg}); code != 0 {
		t.Fatalf("exit %d\n%s", code, io.ErrBuf)
	}
	ix, err := index.Read(bytes.NewReader(io.OutBuf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Records) != 1 || ix.Records[0].Checksum != "Q1MMRN4Hsck311jEm7UhXLcpcMVyg=" {
		t.Errorf("index on stdout: %+v", ix.Records)
	}
	written, _ := os.ReadFile(out)
	if !bytes.Equal(written, io.OutBuf.Bytes()) {
		t.Error("-o FILE and standard output differ for the same input and SOURCE_DATE_EPOCH")
	}
}
