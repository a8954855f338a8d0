package repo_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

var (
	keyOnce sync.Once
	testKey *sign.PrivateKey
	keyErr  error
)

func key(t testing.TB) *sign.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		testKey, keyErr = sign.GenerateKey(nil, "repo@example.com", 2048, time.Unix(0x6748a2b1, 0))
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return testKey
}

func TestAddRealPackages(t *testing.T) {
	shared := alpinetest.Shared(t)
	alpine := filepath.Join(shared, "testdata/alpine")
	alpineKeys, err := sign.LoadKeyring(filepath.Join(alpine, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := key(t)

	t.Run("trusted", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "main", "x86_64")
		r, err := repo.Open(dir, repo.Options{Key: k, Keys: alpineKeys, Description: "main test"})
		if err != nil {
			t.Fatal(err)
		}
		added, err := r.Add(ctx, filepath.Join(alpine, "test_alpine.apk"))
		if err != nil {
			t.Fatal(err)
		}
		rec := added[0].Record
		if rec.Checksum != "Q1MMRN4Hsck311jEm7UhXLcpcMVyg=" || rec.Size != 2874 || rec.InstalledSize != 16384 {
			t.Errorf("record C:%s S:%d I:%d", rec.Checksum, rec.Size, rec.InstalledSize)
		}
		if filepath.Base(added[0].File) != "apache2-ctl-2.4.43-r0.apk" {
			t.Errorf("file %s", added[0].File)
		}

		// The index on disk is signed by the repository's key.
		kr := &sign.Keyring{}
		kr.Add(k.Name, &k.Key.PublicKey)
		f, err := os.Open(r.IndexPath())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ix, err := index.ReadVerified(f, kr)
		if err != nil {
			t.Fatal(err)
		}
		if len(ix.Records) != 1 || ix.Records[0].Checksum != rec.Checksum || ix.Description != "main test" {
			t.Errorf("index: %+v", ix)
		}

		// The aarch64 package does not belong here.
		_, err = r.Add(ctx, filepath.Join(alpine, "alpine-baselayout-3.2.0-r23.apk"))
		if !errors.Is(err, repo.ErrArch) {
			t.Errorf("error %v, want ErrArch", err)
		}
	})

	t.Run("untrusted", func(t *testing.T) {
		r, err := repo.Open(filepath.Join(t.TempDir(), "aarch64"), repo.Options{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Add(ctx, filepath.Join(alpine, "alpine-baselayout-3.2.0-r23.apk"))
		if !errors.Is(err, sign.ErrUntrusted) {
			t.Errorf("error %v, want ErrUntrusted", err)
		}
		r, err = repo.Open(filepath.Join(t.TempDir(), "aarch64"), repo.Options{Key: k, AllowUntrusted: true})
		if err != nil {
			t.Fatal(err)
		}
		added, err := r.Add(ctx, filepath.Join(alpine, "alpine-baselayout-3.2.0-r23.apk"))
		if err != nil {
			t.Fatal(err)
		}
		if rec := added[0].Record; rec.Checksum != "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=" || rec.Size != 11012 || rec.InstalledSize != 339968 {
			t.Errorf("record C:%s S:%d I:%d", rec.Checksum, rec.Size, rec.InstalledSize)
		}
	})

	t.Run("tampered", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(alpine, "test_alpine.apk"))
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(raw)
		bad[len(bad)-100] ^= 0x40 // inside the data member
		p := filepath.Join(t.TempDir(), "bad.apk")
		os.WriteFile(p, bad, 0o644)
		r, err := repo.Open(filepath.Join(t.TempDir(), "x86_64"), repo.Options{Keys: alpineKeys})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Add(ctx, p)
		if err == nil {
			t.Fatal("tampered package added")
		}
		if ents, _ := os.ReadDir(r.Dir()); len(ents) > 1 { // the lock file at most
			t.Errorf("failed Add left %d files", len(ents))
		}
	})
}

// TestIndexFilesVerification indexes a real package whose data segment is
// damaged: by default, as apk index, only the signature and the control
// segment are checked, so it is indexed with the same record as the intact
// one; with VerifyData it is refused. A damaged control segment is refused
// either way.
func TestIndexFilesVerification(t *testing.T) {
	alpine := filepath.Join(alpinetest.Shared(t), "testdata/alpine")
	kr, err := sign.LoadKeyring(filepath.Join(alpine, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(alpine, "test_alpine.apk"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badData := bytes.Clone(raw)
	badData[len(badData)-100] ^= 0x40 // inside the data member
	badControl := bytes.Clone(raw)
	badControl[700] ^= 0x40 // inside the control member
	p, err := apk.Read(bytes.NewReader(raw), &apk.ReadOptions{ControlOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	end := p.Control.Offset + p.Control.Length
	files := map[string]string{
		"intact":         write("intact.apk", raw),
		"data":           write("data.apk", badData),
		"truncated data": write("truncated.apk", raw[:end+100]),
		"control":        write("control.apk", badControl),
		"control only":   write("short.apk", raw[:end]),
	}
	ctx := context.Background()
	tests := []struct {
		file       string
		verifyData bool
		ok         bool
	}{
		{"intact", false, true},
		{"intact", true, true},
		{"data", false, true},
		{"data", true, false},
		{"truncated data", false, true},
		{"truncated data", true, false},
		{"control", false, false},
		{"control", true, false},
		{"control only", false, false},
		{"control only", true, false},
	}
	for _, tt := range tests {
		res, err := repo.IndexFiles(ctx, []string{files[tt.file]}, repo.IndexOptions{Keys: kr, VerifyData: tt.verifyData})
		if (err == nil) != tt.ok {
			t.Errorf("%s, VerifyData %v: error %v, want ok %v", tt.file, tt.verifyData, err, tt.ok)
			continue
		}
		if err != nil {
			continue
		}
		rec := res.Records[0]
		size := int64(2874)
		if tt.file == "truncated data" {
			size = end + 100
		}
		if rec.Checksum != "Q1MMRN4Hsck311jEm7UhXLcpcMVyg=" || rec.Size != size || rec.InstalledSize != 16384 || rec.Name != "apache2-ctl" {
			t.Errorf("%s, VerifyData %v: record C:%s S:%d I:%d P:%s", tt.file, tt.verifyData, rec.Checksum, rec.Size, rec.InstalledSize, rec.Name)
		}
	}
}
