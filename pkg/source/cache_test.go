package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsSetAside(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"x.tar.gz.abababab": true,
		"x.tar.gz.0123abcd": true,
		"x.tar.gz":          false,
		"x.tar.gz.ABABABAB": false,
		"x.tar.gz.abababa":  false,
		".abababab":         false,
		"x.tar.gz.part":     false,
	} {
		if got := IsSetAside(name); got != want {
			t.Errorf("IsSetAside(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCleanCache(t *testing.T) {
	t.Parallel()
	files := []string{"a.tar.gz", "a.tar.gz.abababab", "b.tar.gz", "b.tar.gz.part", "c.patch.part", "c.patch.0123abcd", "busy.tar.gz.part"}
	tests := []struct {
		name string
		keep map[string]bool
		want []string // what remains
	}{
		{"set-aside and partial files", nil, []string{"a.tar.gz", "b.tar.gz", "busy.tar.gz.lock", "busy.tar.gz.part"}},
		{"and files no recipe uses", map[string]bool{"b.tar.gz": true}, []string{"b.tar.gz", "b.tar.gz.part", "busy.tar.gz.lock", "busy.tar.gz.part"}},
		{"a kept partial file is resumed later", map[string]bool{"c.patch": true}, []string{"busy.tar.gz.lock", "busy.tar.gz.part", "c.patch.part"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("12345"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			lock, err := lockFile(context.Background(), filepath.Join(dir, "busy.tar.gz.lock"))
			if err != nil {
				t.Fatal(err)
			}
			defer lock.unlock()
			removed, size, err := CleanCache(context.Background(), dir, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(5 * len(removed)); size != want {
				t.Errorf("size = %d, want %d", size, want)
			}
			entries, _ := os.ReadDir(dir)
			var left []string
			for _, e := range entries {
				left = append(left, e.Name())
			}
			if diff := cmp.Diff(tt.want, left); diff != "" {
				t.Errorf("left in the cache (-want +got):\n%s", diff)
			}
		})
	}
	if removed, _, err := CleanCache(context.Background(), filepath.Join(t.TempDir(), "none"), nil); err != nil || removed != nil {
		t.Errorf("missing cache: %v, %v", removed, err)
	}
}
