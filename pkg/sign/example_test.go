package sign_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// A new key is named after its owner and the time it was made, as
// abuild-keygen names keys.
func ExampleGenerateKey() {
	key, err := sign.GenerateKey(nil, sign.KeyID("Jane Doe <jane@example.com>", "jane"), 2048, time.Unix(0x6748a2b1, 0))
	if err != nil {
		panic(err)
	}
	fmt.Println(key.PrivateFileName())
	fmt.Println(key.Name)
	// Output:
	// jane@example.com-6748a2b1.rsa
	// jane@example.com-6748a2b1.rsa.pub
}

// Signing bytes and checking the signature against a keyring that trusts
// the key by name.
func ExampleKeyring_Verify() {
	key, err := sign.GenerateKey(nil, "jane@example.com", 2048, time.Unix(0x6748a2b1, 0))
	if err != nil {
		panic(err)
	}
	msg := []byte("control segment bytes")
	sig, err := key.SignBytes(sign.RSA256, msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(sig.EntryName())

	kr := &sign.Keyring{}
	kr.Add(key.Name, &key.Key.PublicKey)
	digest := sha256.Sum256(msg)
	used, err := kr.Verify([]sign.Signature{sig}, func(h crypto.Hash) []byte { return digest[:] })
	fmt.Println(used.KeyName, err)
	// Output:
	// .SIGN.RSA256.jane@example.com-6748a2b1.rsa.pub
	// jane@example.com-6748a2b1.rsa.pub <nil>
}

// Signing an index-like stream (every byte after the signature member is
// signed) and verifying it.
func ExampleVerifyStream() {
	key, err := sign.GenerateKey(nil, "jane@example.com", 2048, time.Unix(0x6748a2b1, 0))
	if err != nil {
		panic(err)
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "DESCRIPTION", Mode: 0o644, Size: 5})
	tw.Write([]byte("hello"))
	tw.Close()
	zw.Close()

	sig, err := key.SignBytes(sign.RSA256, body.Bytes())
	if err != nil {
		panic(err)
	}
	var stream bytes.Buffer
	if err := sign.WriteSignatureMember(&stream, []sign.Signature{sig}, time.Unix(0, 0)); err != nil {
		panic(err)
	}
	stream.Write(body.Bytes())

	kr := &sign.Keyring{}
	kr.Add(key.Name, &key.Key.PublicKey)
	res, err := sign.VerifyStream(bytes.NewReader(stream.Bytes()), kr, nil)
	fmt.Println(res.Signatures[res.Used].EntryName(), err)
	_, err = sign.VerifyStream(bytes.NewReader(stream.Bytes()), &sign.Keyring{}, nil)
	fmt.Println(err)
	// Output:
	// .SIGN.RSA256.jane@example.com-6748a2b1.rsa.pub <nil>
	// UNTRUSTED signature
}
