package apkbuild

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// headerCommentsByLine is the plain line-by-line reading headerComments
// must agree with.
func headerCommentsByLine(src []byte, key string) []Comment {
	var out []Comment
	prefix := []byte("# " + key + ":")
	for i, l := range bytes.Split(src, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(l, prefix); ok {
			out = append(out, Comment{Line: i + 1, Value: string(bytes.TrimPrefix(rest, []byte(" ")))})
		}
	}
	return out
}

func TestHeaderComments(t *testing.T) {
	srcs := map[string]string{
		"none":         "pkgname=a\n",
		"first line":   "# Maintainer: A <a@b.c>\npkgname=a\n",
		"several":      "# Contributor: X\n# Maintainer: A <a@b.c>\n#Maintainer: no\n\n# Maintainer:B\n",
		"not at start": "x=1 # Maintainer: A\n  # Maintainer: B\n",
		"no newline":   "pkgname=a\n# Maintainer:   C",
		"empty value":  "# Maintainer:\n# Maintainer: \n",
		"crlf":         "# Maintainer: A\r\n# Maintainer: B\r\n",
		"adjacent":     "# Maintainer: # Maintainer: A\n",
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(headerCommentsByLine([]byte(src), "Maintainer"), headerComments([]byte(src), "Maintainer")); diff != "" {
				t.Errorf("(-by line +got):\n%s", diff)
			}
		})
	}
	if tree := os.Getenv("APKIT_APORTS"); tree != "" {
		for _, path := range findRecipes(t, tree) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(headerCommentsByLine(src, "Maintainer"), headerComments(src, "Maintainer")); diff != "" {
				t.Errorf("%s (-by line +got):\n%s", path, diff)
			}
		}
	}
}
