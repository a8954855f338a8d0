package sign

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultBits is the size of the keys [GenerateKey] makes when asked for 0
// bits, as abuild-keygen does.
const DefaultBits = 4096

// MinBits is the smallest RSA key apkit signs or verifies with.
const MinBits = 2048

// ErrKeyTooSmall is returned for RSA keys of fewer than [MinBits] bits.
var ErrKeyTooSmall = fmt.Errorf("RSA key smaller than %d bits", MinBits)

// ErrPassphrase is returned when an encrypted private key cannot be
// decrypted with the passphrase given.
var ErrPassphrase = errors.New("wrong passphrase or corrupt encrypted key")

// ErrNeedPassphrase is returned when a private key is encrypted and no
// passphrase function was given.
var ErrNeedPassphrase = errors.New("private key is encrypted and no passphrase was given")

// PrivateKey is an RSA signing key together with the name under which its
// public half is trusted: the file name of the public key in a verifier's
// key directory (NAME-xxxxxxxx.rsa.pub), which is what signatures name.
// A PrivateKey is safe for concurrent use once built.
type PrivateKey struct {
	// Key is the RSA private key.
	Key *rsa.PrivateKey
	// Name is the public key's file name, e.g. "jane@example.com-6748a2b1.rsa.pub".
	Name string
}

// Public returns the public half of k as a [PublicKey].
func (k *PrivateKey) Public() *PublicKey {
	return &PublicKey{Key: &k.Key.PublicKey, Name: k.Name}
}

// PrivateFileName returns the private key's file name: Name without ".pub".
func (k *PrivateKey) PrivateFileName() string {
	return strings.TrimSuffix(k.Name, ".pub")
}

// PublicKey is an RSA public key and the file name it is trusted under.
type PublicKey struct {
	// Key is the RSA public key.
	Key *rsa.PublicKey
	// Name is the key's file name, as signatures name it.
	Name string
}

// KeyFileName returns the private key file name abuild-keygen gives a key
// made at t for identity id: "<id>-<unix time in lowercase hex>.rsa". The
// public key's file name is this plus ".pub". Characters that cannot be in
// a file name ('/' and NUL) are replaced by '_'.
func KeyFileName(id string, t time.Time) string {
	id = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, id)
	return id + "-" + strconv.FormatInt(t.Unix(), 16) + ".rsa"
}

// IDOfKeyFile returns the identity in a key file name made by
// [KeyFileName] ("jane@example.org-65a1f0c2.rsa" or its ".pub" gives
// "jane@example.org"), or the name without its extensions when it has no
// time suffix.
func IDOfKeyFile(name string) string {
	name = strings.TrimSuffix(name, ".pub")
	name = strings.TrimSuffix(name, ".rsa")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.ParseUint(name[i+1:], 16, 64); err == nil {
			return name[:i]
		}
	}
	return name
}

// KeyID returns the identity abuild-keygen names keys after: the e-mail
// address between '<' and '>' of a "Name <email>" packager when it holds an
// '@', else user.
func KeyID(packager, user string) string {
	if i := strings.IndexByte(packager, '<'); i >= 0 {
		if j := strings.IndexByte(packager[i:], '>'); j > 0 {
			if email := strings.TrimSpace(packager[i+1 : i+j]); strings.Contains(email, "@") {
				return email
			}
		}
	}
	return user
}

// GenerateKey makes a new RSA key of the given number of bits (0 means
// [DefaultBits]) with public exponent 65537, named as abuild-keygen names a
// key made at t for identity id (see [KeyFileName]). random is the entropy
// source; nil means crypto/rand.
func GenerateKey(random io.Reader, id string, bits int, t time.Time) (*PrivateKey, error) {
	if bits == 0 {
		bits = DefaultBits
	}
	if bits < MinBits {
		return nil, fmt.Errorf("generate key: %d bits: %w", bits, ErrKeyTooSmall)
	}
	if random == nil {
		random = rand.Reader
	}
	k, err := rsa.GenerateKey(random, bits)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &PrivateKey{Key: k, Name: KeyFileName(id, t) + ".pub"}, nil
}

// MarshalPrivateKey returns k in PEM as PKCS#8 ("BEGIN PRIVATE KEY"), the
// form OpenSSL 3 and abuild-keygen write.
func MarshalPrivateKey(k *PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey returns the public half of k in PEM as
// SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"), the form apk reads.
func MarshalPublicKey(k *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LoadPrivateKey reads a PEM private key file: PKCS#8 ("BEGIN PRIVATE
// KEY"), PKCS#1 ("BEGIN RSA PRIVATE KEY") or encrypted PKCS#8 ("BEGIN
// ENCRYPTED PRIVATE KEY", PBES2 with PBKDF2 or scrypt and AES-CBC, as
// `openssl genpkey -aes-256-cbc` writes). passphrase is called only for an
// encrypted key; it may be nil when none is expected. The key's Name is the
// file's base name plus ".pub", as abuild-sign names signatures.
func LoadPrivateKey(path string, passphrase func() ([]byte, error)) (*PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	k, err := ParsePrivateKey(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("load private key %s: %w", path, err)
	}
	return &PrivateKey{Key: k, Name: filepath.Base(path) + ".pub"}, nil
}

// ParsePrivateKey parses a PEM RSA private key in any of the forms
// [LoadPrivateKey] reads.
func ParsePrivateKey(data []byte, passphrase func() ([]byte, error)) (*rsa.PrivateKey, error) {
	block := findPEM(data, "PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
	if block == nil {
		return nil, errors.New("no PEM private key found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		if block.Headers["Proc-Type"] != "" {
			return nil, errors.New("legacy PEM encryption (Proc-Type) is not supported; convert with `openssl pkcs8 -topk8`")
		}
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		if passphrase == nil {
			return nil, ErrNeedPassphrase
		}
		var pass []byte
		pass, err = passphrase()
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		var der []byte
		der, err = decryptPKCS8(block.Bytes, pass)
		if err != nil {
			return nil, err
		}
		key, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, not RSA", key)
	}
	if rk.N.BitLen() < MinBits {
		return nil, fmt.Errorf("%d bits: %w", rk.N.BitLen(), ErrKeyTooSmall)
	}
	return rk, nil
}

// ParsePublicKey parses a PEM RSA public key: SubjectPublicKeyInfo ("BEGIN
// PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY"). Keys under [MinBits] are
// refused.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	block := findPEM(data, "PUBLIC KEY", "RSA PUBLIC KEY")
	if block == nil {
		return nil, errors.New("no PEM public key found")
	}
	var key any
	var err error
	if block.Type == "RSA PUBLIC KEY" {
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	} else {
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, not RSA", key)
	}
	if rk.N.BitLen() < MinBits {
		return nil, fmt.Errorf("%d bits: %w", rk.N.BitLen(), ErrKeyTooSmall)
	}
	return rk, nil
}

// findPEM returns the first PEM block of one of the given types.
func findPEM(data []byte, types ...string) *pem.Block {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil
		}
		for _, t := range types {
			if block.Type == t {
				return block
			}
		}
	}
}
