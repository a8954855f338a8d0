package repo

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReconcile: temporary files go, a package on disk that the index
// lacks is indexed if it reads and moved aside if not, and an entry whose
// file is gone is dropped; a second run changes nothing.
func TestReconcile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x86_64")
	r := openFake(t, dir, Options{AllowUntrusted: true})
	src := t.TempDir()
	if _, err := r.Add(context.Background(), writeFake(t, src, "kept", "1-r0"), writeFake(t, src, "gone", "1-r0")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "gone-1-r0.apk"))
	writeFake(t, dir, "placed", "1-r0")
	os.WriteFile(filepath.Join(dir, "junk-1-r0.apk"), []byte("not a package"), 0o644)
	os.WriteFile(filepath.Join(dir, tempPrefix+"add-1.apk"), []byte("partial"), 0o644)

	res, err := r.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{tempPrefix + "add-1.apk"}, res.Temps); diff != "" {
		t.Errorf("temps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"placed-1-r0.apk"}, res.Indexed); diff != "" {
		t.Errorf("indexed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone-1-r0.apk"}, res.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if _, ok := res.Rejected["junk-1-r0.apk"]; !ok || len(res.Rejected) != 1 {
		t.Errorf("rejected: %v", res.Rejected)
	}
	if _, err := os.Stat(filepath.Join(dir, rejectedPrefix+"junk-1-r0.apk")); err != nil {
		t.Error(err)
	}
	if diff := cmp.Diff([]string{"kept-1-r0", "placed-1-r0"}, names(t, r)); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	again, err := r.Reconcile(context.Background())
	if err != nil || again.Changed() {
		t.Errorf("second run: %+v, %v", again, err)
	}
}
