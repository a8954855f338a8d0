package apk

import (
	"bytes"
	"errors"
	"testing"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// TestEndOfArchiveBlocks checks the zero blocks apk allows between the
// segments of a package. apk reads the members as one tar stream that ends
// at the second zero block it meets; after that it wants whole zero blocks
// to the end of the file. A control member written by plain tar keeps its
// two end-of-archive blocks, so apk stops before the data segment and
// refuses the package as "BAD archive".
func TestEndOfArchiveBlocks(t *testing.T) {
	t.Parallel()
	zero := func(n int) []byte { return make([]byte, n) }
	junk := append(zero(1024), bytes.Repeat([]byte("junk"), 128)...)
	tests := []struct {
		name string
		c    craft
		ok   bool
		is   error
	}{
		{"cut, as abuild writes", craft{}, true, nil},
		{"control with end-of-archive blocks", craft{ctlTail: zero(1024)}, false, sign.ErrEndOfArchive},
		{"control padded to a 10 KiB record, as GNU tar writes", craft{ctlTail: zero(10240 - 1024)}, false, sign.ErrEndOfArchive},
		{"control with one zero block", craft{ctlTail: zero(512)}, true, nil},
		{"control with one zero block and a partial one", craft{ctlTail: zero(512 + 100)}, false, nil},
		{"control with end blocks and junk", craft{ctlTail: junk}, false, sign.ErrTrailingData},
		{"signature with one zero block", craft{sigTail: zero(512)}, true, nil},
		{"signature and control with one zero block each", craft{sigTail: zero(512), ctlTail: zero(512)}, false, sign.ErrEndOfArchive},
		{"signature with end-of-archive blocks", craft{sigTail: zero(1024)}, false, sign.ErrEndOfArchive},
		{"data with whole zero blocks after its end", craft{dataTail: zero(1536)}, true, nil},
		{"data with a partial zero block after its end", craft{dataTail: zero(100)}, false, nil},
		{"data with junk after its end", craft{dataTail: []byte("junk")}, false, sign.ErrTrailingData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.c.pkginfo = smallPkgInfo
			tt.c.sign = true
			pkg := tt.c.build(t)
			res := Verify(bytes.NewReader(pkg), testKeyring(t), nil)
			if tt.ok {
				if res.Problem != OK {
					t.Fatalf("got %v (%v), want OK", res.Problem, res.Err)
				}
				return
			}
			if res.Problem != Malformed || !errors.Is(res.Err, ErrMalformed) {
				t.Fatalf("got %v (%v), want BAD archive", res.Problem, res.Err)
			}
			if tt.is != nil && !errors.Is(res.Err, tt.is) {
				t.Errorf("error %v does not wrap %v", res.Err, tt.is)
			}
			t.Log(res.Err)
			if tt.c.dataTail == nil {
				// What an index is made from is refused too.
				if _, err := Read(bytes.NewReader(pkg), &ReadOptions{ControlOnly: true}); !errors.Is(err, ErrMalformed) {
					t.Errorf("Read ControlOnly: %v, want BAD archive", err)
				}
			}
		})
	}
}
