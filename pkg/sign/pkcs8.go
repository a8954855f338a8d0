package sign

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"
)

// Object identifiers of RFC 8018 (PKCS #5), RFC 7914 (scrypt) and NIST.
var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

type encryptedPrivateKeyInfo struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

type scryptParams struct {
	Salt      []byte
	N         int
	R         int
	P         int
	KeyLength int `asn1:"optional"`
}

// pbkdf2Iterations is the PBKDF2-HMAC-SHA256 work factor of keys apkit
// encrypts. Tests lower it.
var pbkdf2Iterations = 600_000

// decryptPKCS8 decrypts a DER EncryptedPrivateKeyInfo into a DER PKCS#8
// PrivateKeyInfo.
func decryptPKCS8(der, pass []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("parse encrypted private key: %v", err)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("encrypted private key: scheme %v is not PBES2", info.Algo.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("parse PBES2 parameters: %v", err)
	}
	var (
		newBlock func([]byte) (cipher.Block, error)
		keyLen   int
	)
	switch s := params.Scheme.Algorithm; {
	case s.Equal(oidAES128CBC):
		newBlock, keyLen = aes.NewCipher, 16
	case s.Equal(oidAES192CBC):
		newBlock, keyLen = aes.NewCipher, 24
	case s.Equal(oidAES256CBC):
		newBlock, keyLen = aes.NewCipher, 32
	case s.Equal(oidDESEDE3CBC):
		newBlock, keyLen = des.NewTripleDESCipher, 24
	default:
		return nil, fmt.Errorf("encrypted private key: unsupported cipher %v", s)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("parse cipher IV: %v", err)
	}
	var key []byte
	switch kdf := params.KDF.Algorithm; {
	case kdf.Equal(oidPBKDF2):
		var p pbkdf2Params
		if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &p); err != nil {
			return nil, fmt.Errorf("parse PBKDF2 parameters: %v", err)
		}
		if p.KeyLength != 0 && p.KeyLength != keyLen {
			return nil, fmt.Errorf("PBKDF2 key length %d does not fit the cipher", p.KeyLength)
		}
		if p.Iterations < 1 || p.Iterations > 100_000_000 {
			return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", p.Iterations)
		}
		var h func() hash.Hash
		switch prf := p.PRF.Algorithm; {
		case len(prf) == 0 || prf.Equal(oidHMACSHA1):
			h = sha1.New
		case prf.Equal(oidHMACSHA224):
			h = sha256.New224
		case prf.Equal(oidHMACSHA256):
			h = sha256.New
		case prf.Equal(oidHMACSHA384):
			h = sha512.New384
		case prf.Equal(oidHMACSHA512):
			h = sha512.New
		default:
			return nil, fmt.Errorf("PBKDF2: unsupported PRF %v", prf)
		}
		key = pbkdf2.Key(pass, p.Salt, p.Iterations, keyLen, h)
	case kdf.Equal(oidScrypt):
		var p scryptParams
		if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &p); err != nil {
			return nil, fmt.Errorf("parse scrypt parameters: %v", err)
		}
		if p.KeyLength != 0 && p.KeyLength != keyLen {
			return nil, fmt.Errorf("scrypt key length %d does not fit the cipher", p.KeyLength)
		}
		// Bound the memory an attacker-chosen key file can make us use (1 GiB).
		if p.N < 2 || p.R < 1 || p.P < 1 || int64(128)*int64(p.N)*int64(p.R) > 1<<30 || p.P > 16 {
			return nil, fmt.Errorf("scrypt parameters N=%d r=%d p=%d out of range", p.N, p.R, p.P)
		}
		var err error
		key, err = scrypt.Key(pass, p.Salt, p.N, p.R, p.P, keyLen)
		if err != nil {
			return nil, fmt.Errorf("scrypt: %w", err)
		}
	default:
		return nil, fmt.Errorf("encrypted private key: unsupported key derivation %v", kdf)
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != block.BlockSize() || len(info.Data) == 0 || len(info.Data)%block.BlockSize() != 0 {
		return nil, errors.New("encrypted private key: bad IV or data length")
	}
	out := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.Data)
	n := int(out[len(out)-1])
	if n == 0 || n > block.BlockSize() {
		return nil, ErrPassphrase
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, ErrPassphrase
		}
	}
	out = out[:len(out)-n]
	// A wrong passphrase passes the padding check once in 256 tries; the
	// PKCS#8 parse that follows catches it.
	if _, err := x509.ParsePKCS8PrivateKey(out); err != nil {
		return nil, ErrPassphrase
	}
	return out, nil
}

// MarshalEncryptedPrivateKey returns k in PEM as encrypted PKCS#8 ("BEGIN
// ENCRYPTED PRIVATE KEY"): PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC,
// the scheme `openssl genpkey -aes-256-cbc` uses, so OpenSSL (and
// abuild-sign) can read it back.
func MarshalEncryptedPrivateKey(k *PrivateKey, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("marshal encrypted private key: empty passphrase")
	}
	plain, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	key := pbkdf2.Key(passphrase, salt, pbkdf2Iterations, 32, sha256.New)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(plain, make([]byte, n)...)
	for i := len(plain); i < len(padded); i++ {
		padded[i] = byte(n)
	}
	enc := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(enc, padded)

	kdfParams, err := asn1.Marshal(pbkdf2Params{
		Salt: salt, Iterations: pbkdf2Iterations,
		PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue},
	})
	if err != nil {
		return nil, err
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	params, err := asn1.Marshal(pbes2Params{
		KDF:    pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		Scheme: pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algo: pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		Data: enc,
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}
