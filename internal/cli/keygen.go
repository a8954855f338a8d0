package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

type keygenOptions struct {
	name       string
	bits       int
	dir        string
	install    bool
	passphrase bool
	json       bool
}

// keygenJSON is the JSON form of `apkit keygen --json`.
type keygenJSON struct {
	PrivateKey string `json:"private_key"`
	PublicKey  string `json:"public_key"`
	// KeyName is the name signatures give the key (the public key's file name).
	KeyName string `json:"key_name"`
	Bits    int    `json:"bits"`
	// Config is the config file the key was recorded in as signing_key ("" when not).
	Config string `json:"config"`
	// Installed is the public key's path in the system's key directory ("" when not).
	Installed string `json:"installed"`
}

const keygenLong = `Make an RSA signing key pair as abuild-keygen does: NAME-<hex time>.rsa (PKCS#8
PEM, mode 0600) and NAME-<hex time>.rsa.pub (SubjectPublicKeyInfo PEM), 4096 bits
unless --bits says otherwise (at least 2048). NAME is --name, else the e-mail of
the configured packager, else the user name. Keys go to --dir, by default
$XDG_CONFIG_HOME/apkit/keys, whose public keys apkit trusts. An existing key is
never overwritten.

The private key becomes the default signing key (signing_key in apkit's config
file) when none is set; otherwise the configured one stays, and apkit keygen
says so. --install copies the public key into /etc/apk/keys
($APKIT_APK_KEYS_DIR when set), so that apk on this machine trusts packages
signed with it; that needs root.

--passphrase encrypts the private key (PKCS#8, PBKDF2 and AES-256-CBC, readable
by openssl and abuild-sign). The passphrase comes from $APKIT_KEY_PASSPHRASE or
is asked twice on the terminal; it is never a flag. Commands that sign read it
the same way.`

func newKeygenCmd(app *App) *cobra.Command {
	opts := &keygenOptions{}
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an RSA key pair for signing packages and indexes",
		Long:  keygenLong,
		Example: `  apkit keygen
  apkit keygen --name packages@example.org --dir keys
  sudo apkit keygen --install
  APKIT_KEY_PASSPHRASE=secret apkit keygen --passphrase --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeygen(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.name, "name", "", "key `name` before -<hex time>.rsa (default: the packager's e-mail or the user name)")
	f.IntVar(&opts.bits, "bits", sign.DefaultBits, "key size in `bits` (at least 2048)")
	f.StringVar(&opts.dir, "dir", "", "`dir` to write the keys to (default $XDG_CONFIG_HOME/apkit/keys)")
	f.BoolVar(&opts.install, "install", false, "copy the public key into /etc/apk/keys (needs root)")
	f.BoolVar(&opts.passphrase, "passphrase", false, "encrypt the private key with a passphrase ($APKIT_KEY_PASSPHRASE or asked)")
	f.BoolVar(&opts.json, "json", false, "print JSON")
	return cmd
}

func runKeygen(ctx context.Context, app *App, opts *keygenOptions) error {
	if opts.bits < sign.MinBits {
		return usageErrorf("--bits: %d is less than %d", opts.bits, sign.MinBits)
	}
	if opts.bits > 16384 {
		return usageErrorf("--bits: %d is more than 16384", opts.bits)
	}
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	id := opts.name
	if id == "" {
		name := app.Getenv("USER")
		if name == "" {
			if u, err := user.Current(); err == nil {
				name = u.Username
			}
		}
		id = sign.KeyID(cfg.Packager, name)
	}
	if id == "" || filepath.Base(id) != id {
		return usageErrorf("--name: %q cannot name a key file", id)
	}
	var pass []byte
	if opts.passphrase {
		if pass, err = newPassphrase(app); err != nil {
			return err
		}
	}
	dir := opts.dir
	if dir == "" {
		dir = apkitKeysDir(app)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	app.IO.Verbosef("generating a %d-bit RSA key", opts.bits)
	key, err := sign.GenerateKey(nil, id, opts.bits, app.Now())
	if err != nil {
		return err
	}
	var priv []byte
	if pass != nil {
		priv, err = sign.MarshalEncryptedPrivateKey(key, pass)
	} else {
		priv, err = sign.MarshalPrivateKey(key)
	}
	if err != nil {
		return err
	}
	pub, err := sign.MarshalPublicKey(&key.Key.PublicKey)
	if err != nil {
		return err
	}
	privPath, err := filepath.Abs(filepath.Join(dir, key.PrivateFileName()))
	if err != nil {
		return err
	}
	pubPath := filepath.Join(filepath.Dir(privPath), key.Name)
	if err := writeNewFile(privPath, priv, 0o600); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := writeNewFile(pubPath, pub, 0o644); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	out := keygenJSON{PrivateKey: privPath, PublicKey: pubPath, KeyName: key.Name, Bits: opts.bits}

	if cfg.SigningKey != "" {
		// Say so: a user making a new key most often means to sign with it.
		from := string(cfg.Sources["signing_key"])
		if o := cfg.Origins["signing_key"]; o != "" {
			from += " " + o
		}
		app.IO.Infof("signing_key stays %s (from %s); to sign with the new key: apkit config set signing_key %s", cfg.SigningKey, from, privPath)
	} else {
		file := cfg.File
		if file == "" {
			home := app.Getenv("HOME")
			if home == "" {
				home, _ = os.UserHomeDir()
			}
			file = config.ConfigFile(app.Getenv, home)
		}
		wrote, err := config.RecordSetting(file, "signing_key", privPath)
		if err != nil {
			return fmt.Errorf("keygen: record the signing key: %w", err)
		}
		if wrote {
			out.Config = file
			app.IO.Infof("recorded %s as signing_key in %s", privPath, file)
		}
	}
	if opts.install {
		dst := filepath.Join(systemKeysDir(app), key.Name)
		err := os.MkdirAll(filepath.Dir(dst), 0o755)
		if err == nil {
			err = repo.WriteFile(dst, 0o644, func(w io.Writer) error {
				_, err := w.Write(pub)
				return err
			})
		}
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("install public key: %w: run apkit keygen --install as root, or copy %s into %s as root", err, pubPath, systemKeysDir(app))
		}
		if err != nil {
			return fmt.Errorf("install public key: %w", err)
		}
		out.Installed = dst
	}
	if opts.json {
		return writeJSONLine(app.IO.Out, out)
	}
	fmt.Fprintln(app.IO.Out, privPath)
	fmt.Fprintln(app.IO.Out, pubPath)
	if out.Installed != "" {
		fmt.Fprintln(app.IO.Out, out.Installed)
	}
	return nil
}
