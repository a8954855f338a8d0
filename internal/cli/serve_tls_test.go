package cli

import (
	"bytes"
	"crypto/tls"
	"os"
	"testing"
	"time"
)

// A renewed certificate (certbot and the like rewrite the files in place)
// is served without a restart; a broken renewal keeps the old one.
func TestServeTLSReloadsRenewedCertificate(t *testing.T) {
	dir := t.TempDir()
	crt, key := selfSigned(t, dir)
	cfg, err := loadTLSFiles(crt, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.interval = 0 // look at the files on every handshake
	first, err := cfg.getCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}

	// Renew: a new pair in place, with a later modification time.
	renewed := t.TempDir()
	crt2, key2 := selfSigned(t, renewed)
	for _, p := range [][2]string{{crt2, crt}, {key2, key}} {
		b, _ := os.ReadFile(p[0])
		if err := os.WriteFile(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute)
		os.Chtimes(p[1], later, later)
	}
	second, err := cfg.getCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Certificate[0], second.Certificate[0]) {
		t.Fatal("renewed certificate not picked up")
	}

	// A half-written renewal (a key that does not match) keeps the last good pair.
	os.WriteFile(key, []byte("not a key"), 0o600)
	later := time.Now().Add(2 * time.Minute)
	os.Chtimes(key, later, later)
	third, err := cfg.getCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second.Certificate[0], third.Certificate[0]) {
		t.Error("a broken renewal replaced the certificate")
	}
}
