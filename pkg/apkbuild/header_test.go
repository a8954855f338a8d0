package apkbuild

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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

// fieldLinesBySplit is the plain reading fieldLines must agree with.
func fieldLinesBySplit(r *Recipe, name string, n int) []int {
	lines := make([]int, n)
	a := r.assignNode(name)
	if a == nil {
		return lines
	}
	for i := range lines {
		lines[i] = int(a.Pos().Line())
	}
	if a.Value == nil {
		return lines
	}
	start, end := int(a.Value.Pos().Offset()), int(a.Value.End().Offset())
	if start > end || end > len(r.Src) {
		return lines
	}
	var raw []int
	for i, l := range strings.Split(string(r.Src[start:end]), "\n") {
		for _, f := range strings.Fields(l) {
			if strings.Trim(f, "\"'") != "" {
				raw = append(raw, int(a.Value.Pos().Line())+i)
			}
		}
	}
	if len(raw) == n {
		return raw
	}
	return lines
}

func TestFieldLines(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "recipes", "*", "APKBUILD"))
	if tree := os.Getenv("APKIT_APORTS"); tree != "" {
		paths = append(paths, findRecipes(t, tree)...)
	}
	for _, path := range paths {
		r, _ := Load(path, Options{Arch: "x86_64"})
		if r == nil {
			continue
		}
		for _, name := range []string{"source", "subpackages", "sha512sums", "pkgname"} {
			n := len(strings.Fields(r.Vars[name]))
			for _, m := range []int{n, n + 1, max(n-1, 0)} {
				if diff := cmp.Diff(fieldLinesBySplit(r, name, m), r.fieldLines(name, m), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: %s, %d fields (-by split +got):\n%s", path, name, m, diff)
				}
			}
		}
	}
}
