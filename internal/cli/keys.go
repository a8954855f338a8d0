package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	xterm "golang.org/x/term"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// passphraseEnv holds the passphrase of an encrypted signing key in CI.
const passphraseEnv = "APKIT_KEY_PASSPHRASE"

// systemKeysEnv overrides the system's trusted key directory (/etc/apk/keys),
// for example to prepare an image's root.
const systemKeysEnv = "APKIT_APK_KEYS_DIR"

// systemKeysDir is apk's trusted key directory.
func systemKeysDir(app *App) string {
	if d := app.Getenv(systemKeysEnv); d != "" {
		return d
	}
	return sign.SystemKeysDir
}

// apkitKeysDir is where apkit keygen writes keys: $XDG_CONFIG_HOME/apkit/keys.
func apkitKeysDir(app *App) string {
	if x := app.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "apkit", "keys")
	}
	home := app.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".config", "apkit", "keys")
}

// trustedKeyDirs lists the key directories to trust, first wins: the
// --keys-dir flags, the configured keys_dirs, apkit's own keys and the
// system's. loadKeyring also trusts the signing key's public half.
func trustedKeyDirs(app *App, cfg *config.Config, flagDirs []string) []string {
	dirs := append([]string(nil), flagDirs...)
	if cfg != nil {
		dirs = append(dirs, cfg.KeysDirs...)
	}
	return append(dirs, apkitKeysDir(app), systemKeysDir(app))
}

// loadKeyring loads the trusted keys and warns about unusable key files.
func loadKeyring(app *App, cfg *config.Config, flagDirs []string) (*sign.Keyring, error) {
	for _, d := range flagDirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return nil, usageErrorf("--keys-dir %s: not a directory", d)
		}
	}
	kr, err := sign.LoadKeyring(trustedKeyDirs(app, cfg, flagDirs)...)
	if err != nil {
		return nil, err
	}
	for _, s := range kr.Skipped {
		app.IO.Verbosef("skipped key file %s", s)
	}
	// apkit keygen keeps the private half of each key beside the public
	// one in its keys directory: that is no news.
	own := apkitKeysDir(app)
	for _, p := range kr.Private {
		if filepath.Dir(p) != own {
			app.IO.Verbosef("skipped key file %s: a private key, not a public one", p)
		}
	}
	trustSigningKey(app, cfg, kr)
	return kr, nil
}

// keySearch says where loadKeyring looked for trusted keys, for messages
// about a key that was not found.
func keySearch(app *App, cfg *config.Config, flagDirs []string) string {
	where := strings.Join(trustedKeyDirs(app, cfg, flagDirs), ", ")
	if cfg != nil && cfg.SigningKey != "" {
		where += " and " + cfg.SigningKey + ".pub"
	}
	return where
}

// trustSigningKey trusts the public half of the configured signing key,
// read from the .pub file that apkit keygen and abuild-keygen write beside
// it, so that what the user signs verifies without installing the key. A
// key of the same name from a key directory wins.
func trustSigningKey(app *App, cfg *config.Config, kr *sign.Keyring) {
	if cfg == nil || cfg.SigningKey == "" {
		return
	}
	path := cfg.SigningKey + ".pub"
	name := filepath.Base(path)
	if kr.Key(name) != nil {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			app.IO.Verbosef("skipped key file %s: %v", path, err)
		}
		return
	}
	pub, err := sign.ParsePublicKey(data)
	if err != nil {
		app.IO.Verbosef("skipped key file %s: %v", path, err)
		return
	}
	kr.Add(name, pub)
}

// passphraseFunc returns the passphrase of an encrypted key: from
// $APKIT_KEY_PASSPHRASE, else asked on the terminal. Without either it
// fails and names the variable.
func passphraseFunc(app *App, path string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if p := app.Getenv(passphraseEnv); p != "" {
			return []byte(p), nil
		}
		f, ok := app.IO.In.(*os.File)
		if !ok || !app.IO.IsStdinTTY() {
			return nil, fmt.Errorf("%s is encrypted: set %s (standard input is not a terminal to ask on)", path, passphraseEnv)
		}
		fmt.Fprintf(app.IO.ErrOut, "Passphrase for %s: ", path)
		p, err := xterm.ReadPassword(int(f.Fd()))
		fmt.Fprintln(app.IO.ErrOut)
		return p, err
	}
}

// newPassphrase asks for a new passphrase twice, or takes it from
// $APKIT_KEY_PASSPHRASE.
func newPassphrase(app *App) ([]byte, error) {
	if p := app.Getenv(passphraseEnv); p != "" {
		return []byte(p), nil
	}
	f, ok := app.IO.In.(*os.File)
	if !ok || !app.IO.IsStdinTTY() {
		return nil, fmt.Errorf("--passphrase: set %s (standard input is not a terminal to ask on)", passphraseEnv)
	}
	fmt.Fprint(app.IO.ErrOut, "New passphrase: ")
	p1, err := xterm.ReadPassword(int(f.Fd()))
	fmt.Fprintln(app.IO.ErrOut)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(app.IO.ErrOut, "Repeat passphrase: ")
	p2, err := xterm.ReadPassword(int(f.Fd()))
	fmt.Fprintln(app.IO.ErrOut)
	if err != nil {
		return nil, err
	}
	if string(p1) != string(p2) {
		return nil, errors.New("the passphrases differ")
	}
	if len(p1) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return p1, nil
}

// loadSigningKey loads the private key at path, or the configured one
// when path is empty.
func loadSigningKey(app *App, cfg *config.Config, path string) (*sign.PrivateKey, error) {
	flagPath := path
	if path == "" && cfg != nil {
		path = cfg.SigningKey
	}
	if path == "" {
		return nil, usageErrorf("no signing key: pass --key, set signing_key in the config, or run apkit keygen")
	}
	if err := checkKeyExists(cfg, path, path == flagPath); err != nil {
		return nil, err
	}
	return sign.LoadPrivateKey(path, passphraseFunc(app, path))
}

// checkKeyExists fails, naming where the setting came from and how to fix
// it, when the signing key file at path does not exist. fromFlag says path
// is --key's value.
func checkKeyExists(cfg *config.Config, path string, fromFlag bool) error {
	_, err := os.Stat(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if fromFlag || cfg == nil {
		return fmt.Errorf("--key %s: no such file", path)
	}
	from := string(cfg.Sources["signing_key"])
	if o := cfg.Origins["signing_key"]; o != "" {
		from += " " + o
	}
	return fmt.Errorf("signing key %s (signing_key, from %s): no such file: correct the setting (apkit keygen makes a new key)", path, from)
}

// writeNewFile writes data to path atomically and fails if path exists:
// a temporary file in the same directory, fsynced, then hard-linked into
// place (which never replaces an existing file).
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".apkit-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) && errors.Is(le.Err, os.ErrExist) {
			return fmt.Errorf("%s already exists: apkit never overwrites a key", path)
		}
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
