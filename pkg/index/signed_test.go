package index_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

var (
	testKeyOnce sync.Once
	testKey     *sign.PrivateKey
	testKeyErr  error
)

// key returns a 2048-bit test key, made once.
func key(t *testing.T) *sign.PrivateKey {
	t.Helper()
	testKeyOnce.Do(func() {
		testKey, testKeyErr = sign.GenerateKey(nil, "test@example.com", 2048, time.Unix(0x6748a2b1, 0))
	})
	if testKeyErr != nil {
		t.Fatal(testKeyErr)
	}
	return testKey
}

func TestReadVerifiedReal(t *testing.T) {
	shared := alpinetest.Shared(t)
	kr, err := sign.LoadKeyring(filepath.Join(shared, "testdata/alpine/keys"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range realIndexes {
		t.Run(ri.path, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join(shared, ri.path))
			if err != nil {
				t.Fatal(err)
			}
			ix, err := index.ReadVerified(bytes.NewReader(raw), kr)
			if err != nil {
				t.Fatal(err)
			}
			if len(ix.Records) != ri.records || ix.Description != ri.description {
				t.Errorf("%d records, description %q", len(ix.Records), ix.Description)
			}
			if diff := cmp.Diff([]string{ri.signature}, ix.Signatures); diff != "" {
				t.Errorf("signatures (-want +got):\n%s", diff)
			}

			// Without Alpine's keys: untrusted, but readable.
			ix, err = index.ReadVerified(bytes.NewReader(raw), nil)
			if !errors.Is(err, sign.ErrUntrusted) || ix == nil || len(ix.Records) != ri.records {
				t.Errorf("without keys: %v", err)
			}

			// A flipped byte in the index member breaks it.
			bad := bytes.Clone(raw)
			bad[len(bad)/2] ^= 1
			if _, err := index.ReadVerified(bytes.NewReader(bad), kr); err == nil {
				t.Error("tampered index verified")
			}
		})
	}
}

func TestWriteSigned(t *testing.T) {
	k := key(t)
	ix := &index.Index{Description: "main", ModTime: time.Unix(1700000000, 0), Records: []*index.Record{helloRecord()}}
	kr := &sign.Keyring{}
	kr.Add(k.Name, &k.Key.PublicKey)
	for _, alg := range []sign.Algorithm{"", sign.RSA, sign.RSA256} {
		t.Run(string(alg), func(t *testing.T) {
			var b bytes.Buffer
			if err := index.WriteSigned(&b, ix, k, alg); err != nil {
				t.Fatal(err)
			}
			raw := b.Bytes()
			got, err := index.ReadVerified(bytes.NewReader(raw), kr)
			if err != nil {
				t.Fatal(err)
			}
			want := alg
			if want == "" {
				want = sign.RSA256
			}
			if diff := cmp.Diff([]string{".SIGN." + string(want) + ".test@example.com-6748a2b1.rsa.pub"}, got.Signatures); diff != "" {
				t.Errorf("signatures (-want +got):\n%s", diff)
			}
			got.Signatures = nil
			if diff := cmp.Diff(ix, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// Deterministic: the same index and key give the same bytes.
			var again bytes.Buffer
			index.WriteSigned(&again, ix, k, alg)
			if !bytes.Equal(raw, again.Bytes()) {
				t.Error("signed index is not deterministic")
			}
			// The unsigned part is exactly what Write makes.
			var body bytes.Buffer
			index.Write(&body, ix)
			if !bytes.HasSuffix(raw, body.Bytes()) {
				t.Error("signed index does not end with the unsigned member")
			}
			bad := bytes.Clone(raw)
			bad[len(bad)-20] ^= 1
			if _, err := index.ReadVerified(bytes.NewReader(bad), kr); err == nil {
				t.Error("tampered index verified")
			}
		})
	}

	// No key: the unsigned index.
	var b, u bytes.Buffer
	index.WriteSigned(&b, ix, nil, "")
	index.Write(&u, ix)
	if !bytes.Equal(b.Bytes(), u.Bytes()) {
		t.Error("WriteSigned without a key differs from Write")
	}
	if _, err := index.ReadVerified(&b, kr); !errors.Is(err, sign.ErrUntrusted) {
		t.Errorf("unsigned index: %v, want ErrUntrusted", err)
	}
}
