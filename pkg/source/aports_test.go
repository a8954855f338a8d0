package source

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var abuildLine = regexp.MustCompile(`^([0-9a-f]{128})  ([A-Za-z0-9+@~._-]+)$`)

// TestAportsChecksumBlocks rewrites the checksum block of every APKBUILD
// of an aports checkout with the digests it already holds: abuild wrote
// those blocks, so the result must be the same bytes. It runs only when
// APKIT_APORTS names such a checkout:
//
//	APKIT_APORTS=/path/to/aports go test ./pkg/source -run Aports -v
func TestAportsChecksumBlocks(t *testing.T) {
	tree := os.Getenv("APKIT_APORTS")
	if tree == "" {
		t.Skip("APKIT_APORTS is not set: no recipe tree to compare against")
	}
	var total, same, skipped, older, handWritten int
	var diffs []string
	filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "APKBUILD" {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		blocks, err := sumsBlocks(src)
		if err != nil || len(blocks) != 1 || !bytes.HasPrefix(src[blocks[0].start:], []byte("sha512sums=")) {
			skipped++ // no block, several, or an older algorithm: nothing to compare
			return nil
		}
		block := string(src[blocks[0].start:blocks[0].end])
		if !strings.HasPrefix(block, "sha512sums=\"\n") {
			// The older layout, digests from the first line on: abuild's
			// checksum rewrites it in the current one, and so does apkit.
			older++
			return nil
		}
		if !strings.HasSuffix(block, "\"\n") {
			handWritten++ // no newline at the end of the file
			return nil
		}
		var sums []FileSum
		lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(block, "sha512sums=\"\n"), "\"\n"), "\n")
		for _, l := range lines[:len(lines)-1] {
			m := abuildLine.FindStringSubmatch(l)
			if m == nil {
				// Written by hand ($pkgver in a name, one space): abuild
				// would write it anew.
				handWritten++
				return nil
			}
			sums = append(sums, FileSum{Digest: m[1], Name: m[2]})
		}
		total++
		out, err := RewriteChecksums(src, sums)
		if err == nil && bytes.Equal(out, src) {
			same++
		} else if len(diffs) < 10 {
			diffs = append(diffs, p)
		}
		return nil
	})
	t.Logf("%d of %d sha512sums blocks rewritten byte for byte (%d in the older layout, %d written by hand, %d recipes without a single sha512 block)", same, total, older, handWritten, skipped)
	for _, d := range diffs {
		t.Errorf("differs: %s", d)
	}
}
