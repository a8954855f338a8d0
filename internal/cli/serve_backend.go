package cli

import (
	"bufio"
	"fmt"
	"os"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// serveBackend returns what checks uploads (pkg/apk, against upload_keys
// when set) and what stores them (pkg/repo, signing indexes with
// signing_key, else the general configuration's signing key). Warnings
// about a weak setup go to warnf.
func serveBackend(app *App, cfg *config.ServeConfig, warnf func(string, ...any)) (server.Validator, server.Repository, error) {
	var keys *sign.Keyring
	if cfg.UploadKeys != "" {
		if _, err := os.Stat(cfg.UploadKeys); err != nil {
			return nil, nil, fmt.Errorf("upload_keys: %w", err)
		}
		kr, err := sign.LoadKeyring(cfg.UploadKeys)
		if err != nil {
			return nil, nil, fmt.Errorf("upload_keys: %w", err)
		}
		if kr.Len() == 0 {
			return nil, nil, fmt.Errorf("upload_keys: no public key in %s", cfg.UploadKeys)
		}
		keys = kr
	} else {
		warnf("upload_keys is not set: packages are checked for integrity but may be signed by anyone")
	}
	keyPath := cfg.SigningKey
	if keyPath == "" {
		if c, err := app.Config(); err == nil {
			keyPath = c.SigningKey
		}
	}
	var key *sign.PrivateKey
	if keyPath != "" {
		k, err := sign.LoadPrivateKey(keyPath, func() ([]byte, error) {
			if p := app.Getenv("APKIT_KEY_PASSPHRASE"); p != "" {
				return []byte(p), nil
			}
			return nil, fmt.Errorf("%s is encrypted: set APKIT_KEY_PASSPHRASE", keyPath)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("signing_key: %w", err)
		}
		key = k
	} else if !cfg.Dev {
		// A configuration failure, not a bad command line: no usage text.
		return nil, nil, fmt.Errorf("config: signing_key: no key to sign indexes with (set signing_key in the config file; apkit keygen --dir DIR makes one)")
	} else {
		warnf("no signing_key: indexes are written unsigned (apk needs --allow-untrusted)")
	}
	return server.PackageValidator{Keys: keys}, &server.Repositories{Options: repo.Options{
		Key:            key,
		Keys:           keys,
		AllowUntrusted: keys == nil,
	}}, nil
}

// packageArch reads a package's architecture from its .PKGINFO.
func packageArch(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	p, err := apk.Read(bufio.NewReader(f), &apk.ReadOptions{ControlOnly: true})
	if err != nil {
		return "", err
	}
	if p.Info == nil || p.Info.Arch == "" {
		return "", fmt.Errorf("no arch in .PKGINFO")
	}
	return p.Info.Arch, nil
}
