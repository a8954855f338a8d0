package apk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestReadMaxEntriesWithoutFileList: the bound on data entries holds
// whether or not the reader keeps the file list; without it a package of
// millions of empty files grows the reader's bookkeeping without limit.
func TestReadMaxEntriesWithoutFileList(t *testing.T) {
	tree := t.TempDir()
	for i := range 50 {
		if err := os.WriteFile(filepath.Join(tree, fmt.Sprintf("f%03d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var pkg bytes.Buffer
	if _, err := Write(&pkg, &Input{Info: testInfo(), Dir: tree, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	for _, noList := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoFileList=%v", noList), func(t *testing.T) {
			_, err := Read(bytes.NewReader(pkg.Bytes()), &ReadOptions{MaxEntries: 10, NoFileList: noList})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want a refusal for too many entries", err)
			}
		})
	}
}
