package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

type signOptions struct {
	key   string
	sha1  bool
	files []string
}

const signLong = `Sign APKINDEX.tar.gz indexes and .apk packages with a private key, in place
and atomically (a temporary file, fsynced, renamed over the original, mode 0644),
as abuild-sign does. A directory stands for the APKINDEX.tar.gz in it.

The new signature goes first; an existing signature by the same key is
replaced and signatures by other keys are kept after it. Signatures use
RSA with SHA-256 (.SIGN.RSA256., read by apk 2.7 and later); --sha1 writes
RSA with SHA-1 (.SIGN.RSA.) for older clients. The signature's key name is the
private key's file name plus .pub: install that public key under that name.
A damaged file (truncated, or failing its checksums) is left as it is and
not signed.

The key is --key, else signing_key from the config. An encrypted key's
passphrase comes from $APKIT_KEY_PASSPHRASE or is asked on the terminal.
The signature entries' time is $SOURCE_DATE_EPOCH when set.`

func newSignCmd(app *App) *cobra.Command {
	opts := &signOptions{}
	cmd := &cobra.Command{
		Use:   "sign [--key KEY] [--sha1] FILE...",
		Short: "Sign indexes and packages in place",
		Long:  signLong,
		Example: `  apkit sign packages/main/x86_64/APKINDEX.tar.gz
  apkit sign --key ~/.config/apkit/keys/me@example.org-6748a2b1.rsa hello-2.12.1-r0.apk
  apkit sign --sha1 packages/main/x86_64`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.files = args
			return runSign(cmd.Context(), app, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.key, "key", "k", "", "private key `file` (default: signing_key from the config)")
	cmd.Flags().BoolVar(&opts.sha1, "sha1", false, "sign with RSA over SHA-1 (.SIGN.RSA.) for apk older than 2.7")
	return cmd
}

func runSign(ctx context.Context, app *App, opts *signOptions) error {
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	key, err := loadSigningKey(app, cfg, opts.key)
	if err != nil {
		return err
	}
	alg := sign.RSA256
	if opts.sha1 {
		alg = sign.RSA
	}
	mtime := app.Now()
	if sde := app.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
		n, err := strconv.ParseInt(sde, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %q is not a number of seconds", sde)
		}
		mtime = time.Unix(n, 0)
	}
	for _, f := range opts.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			f = filepath.Join(f, repo.IndexName)
		}
		kind, err := signRepoFile(ctx, f, key, alg, mtime)
		if err != nil {
			return fmt.Errorf("sign %s: %w", f, err)
		}
		app.IO.Infof("signed %s %s with %s (%s)", kind, f, key.Name, alg)
	}
	return nil
}

// signRepoFile signs path with signFile. The index of a repository
// directory (one with the lock file apkit build, index and serve use) is
// signed under the directory's lock, so that a package added meanwhile is
// not lost when the signed copy is renamed over the index.
func signRepoFile(ctx context.Context, path string, key *sign.PrivateKey, alg sign.Algorithm, mtime time.Time) (string, error) {
	dir := filepath.Dir(path)
	if filepath.Base(path) == repo.IndexName {
		if _, err := os.Stat(filepath.Join(dir, repoLockName)); err == nil {
			unlock, err := repo.LockDir(ctx, dir)
			if err != nil {
				return "", err
			}
			defer unlock()
		}
	}
	return signFile(path, key, alg, mtime)
}

// repoLockName is the lock file of a repository directory (see
// [repo.LockDir]).
const repoLockName = ".apkit.lock"

// signFile re-signs one package or index atomically and says which it was.
func signFile(path string, key *sign.PrivateKey, alg sign.Algorithm, mtime time.Time) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	kind := "package"
	// A damaged package is not signed: a new signature would make it look
	// sound to whoever trusts the key. (An index's stream is checked while
	// its signature is replaced.)
	res := apk.Verify(src, nil, &apk.VerifyOptions{AllowUntrusted: true, Read: apk.ReadOptions{NoFileList: true}})
	if !errors.Is(res.Err, apk.ErrNotPackage) && res.Problem != apk.OK {
		if res.Err != nil {
			return kind, fmt.Errorf("%w; not signed", res.Err)
		}
		return kind, fmt.Errorf("%s; not signed", res.Problem)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return kind, err
	}
	err = repo.WriteFile(path, 0o644, func(w io.Writer) error {
		err := apk.Resign(w, src, key, alg, mtime)
		if !errors.Is(err, apk.ErrNotPackage) {
			return err
		}
		kind = "index"
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return sign.ReplaceSignature(w, src, key, alg, mtime)
	})
	return kind, err
}
