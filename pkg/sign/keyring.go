package sign

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// SystemKeysDir is where apk looks for trusted public keys.
const SystemKeysDir = "/etc/apk/keys"

// maxKeyFileSize bounds the size of a key file that is read.
const maxKeyFileSize = 64 << 10

// Keyring is a set of trusted public keys, each under the file name that
// signatures name it by. The zero value is an empty keyring. A Keyring is
// safe for concurrent reads; Add must not run concurrently with other
// methods.
type Keyring struct {
	keys map[string]*rsa.PublicKey
	dirs map[string]string
	// Skipped lists files in the key directories that are not usable
	// public keys, with why, for diagnostics.
	Skipped []string
	// Private lists the files in the key directories that hold a private
	// key, which are not trusted keys either (apkit keygen and
	// abuild-keygen keep both halves of a key in one directory).
	Private []string
}

// LoadKeyring reads every public key in the given directories. Directories
// that do not exist are skipped; files that are not RSA public keys of at
// least [MinBits] bits are recorded in Skipped. When two directories hold
// a key of the same name, the first one wins.
func LoadKeyring(dirs ...string) (*Keyring, error) {
	kr := &Keyring{}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load keys: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if _, ok := kr.keys[name]; ok {
				continue
			}
			path := filepath.Join(dir, name)
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if fi.Size() > maxKeyFileSize {
				kr.Skipped = append(kr.Skipped, path+": too large for a key")
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				kr.Skipped = append(kr.Skipped, path+": "+err.Error())
				continue
			}
			pub, err := ParsePublicKey(data)
			if err != nil {
				if findPEM(data, "PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY") != nil {
					kr.Private = append(kr.Private, path)
				} else {
					kr.Skipped = append(kr.Skipped, path+": "+err.Error())
				}
				continue
			}
			kr.Add(name, pub)
			kr.dirs[name] = dir
		}
	}
	return kr, nil
}

// Add trusts pub under name (the file name signatures use).
func (kr *Keyring) Add(name string, pub *rsa.PublicKey) {
	if kr.keys == nil {
		kr.keys = map[string]*rsa.PublicKey{}
		kr.dirs = map[string]string{}
	}
	kr.keys[name] = pub
}

// Key returns the trusted key of that name, or nil.
func (kr *Keyring) Key(name string) *rsa.PublicKey {
	if kr == nil {
		return nil
	}
	return kr.keys[name]
}

// Dir returns the directory a key was loaded from ("" when added by [Keyring.Add]).
func (kr *Keyring) Dir(name string) string {
	if kr == nil {
		return ""
	}
	return kr.dirs[name]
}

// Names returns the names of the trusted keys, sorted.
func (kr *Keyring) Names() []string {
	if kr == nil {
		return nil
	}
	names := make([]string, 0, len(kr.keys))
	for n := range kr.keys {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len returns the number of trusted keys.
func (kr *Keyring) Len() int {
	if kr == nil {
		return 0
	}
	return len(kr.keys)
}

// Select picks the signature apk would check: the first one of a known
// algorithm whose key is in the keyring. It returns the index of that
// signature in sigs, or -1 when none qualifies (the stream is untrusted).
func (kr *Keyring) Select(sigs []Signature) int {
	for i, s := range sigs {
		if s.Algorithm.Hash() == 0 {
			continue
		}
		if kr.Key(s.KeyName) != nil {
			return i
		}
	}
	return -1
}

// Verify checks sigs as apk does: the signature chosen by [Keyring.Select]
// is verified over digest(hash of that signature's algorithm); the others
// are ignored. It returns the signature used, or an error wrapping
// [ErrUntrusted] when no signature names a trusted key, or
// [ErrBadSignature] when the chosen one does not verify.
func (kr *Keyring) Verify(sigs []Signature, digest func(crypto.Hash) []byte) (Signature, error) {
	i := kr.Select(sigs)
	if i < 0 {
		return Signature{}, ErrUntrusted
	}
	s := sigs[i]
	d := digest(s.Algorithm.Hash())
	if d == nil {
		return s, fmt.Errorf("%w: no %v digest of the signed bytes", ErrBadSignature, s.Algorithm.Hash())
	}
	return s, s.Verify(kr.Key(s.KeyName), d)
}
