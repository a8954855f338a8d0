package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

type indexOptions struct {
	output         string
	description    string
	rewriteArch    string
	key            string
	noSign         bool
	sha1           bool
	old            string
	keysDirs       []string
	allowUntrusted bool
	noWarnings     bool
	verifyData     bool
	json           bool
	args           []string
}

// indexResult is the JSON form of `apkit index --json`.
type indexResult struct {
	// Output is the index file written ("-" for standard output).
	Output string `json:"output"`
	// Packages is the number of entries in the index.
	Packages int `json:"packages"`
	// Read counts the packages read and verified, Reused those whose
	// entry came from the previous index.
	Read   int `json:"read"`
	Reused int `json:"reused"`
	// SignedBy is the name of the public key that verifies the index
	// ("" when unsigned).
	SignedBy string `json:"signed_by"`
	// Description is the index's DESCRIPTION.
	Description string `json:"description,omitempty"`
}

const indexLong = `Write an APKINDEX.tar.gz for package files, as apk index does, signed.

Give the package files, or one directory whose *.apk files are indexed. With
a directory the index goes to DIR/APKINDEX.tar.gz and, when that file exists,
its entries are reused: a package file is read again only when its name or
size changed or it is not older than the index, so adding one package to a
large repository reads one package. --index OLD does the same with any old
index. While it works on a directory's own index, apkit index holds the
directory's lock, as apkit serve and apkit build do when they add packages.
Without -o, files are indexed to standard output (unless it is a terminal).

Every package read is checked as apk index checks it, up to the end of its
control segment: its signature, by a key in a --keys-dir, the configured
keys_dirs, apkit's own keys, /etc/apk/keys, or the public half of the
signing key; the structure of its signature and control segments; its
.PKGINFO, which must have a datahash line. The data segment (the files) is
not read: apk checks it against datahash when it installs the package.
--verify-data checks it too, as apkit verify does: datahash and every file's
checksum, several packages at once; it reads and inflates every package
whole, so it takes far longer. --allow-untrusted accepts packages signed by
no trusted key. Dependencies that no indexed package provides are listed in
a warning (--no-warnings to silence it).

The index is signed with --key, else the configured signing_key (RSA over
SHA-256; --sha1 for apk older than 2.7); --no-sign writes it unsigned. An
encrypted key's passphrase is read from APKIT_KEY_PASSPHRASE, or asked for
on a terminal. The file is written to a temporary name, synced and renamed,
so readers never see half an index.`

const indexExample = `  apkit index -o APKINDEX.tar.gz -d "main v3.21.0" *.apk
  apkit index --rewrite-arch x86_64 ~/packages/main/x86_64
  apkit index --verify-data -o APKINDEX.tar.gz *.apk
  apkit index --no-sign --allow-untrusted -o - *.apk | tar -tzf -`

func newIndexCmd(app *App) *cobra.Command {
	opts := &indexOptions{}
	cmd := &cobra.Command{
		Use:     "index [flags] FILE.apk... | DIR",
		Short:   "Write a signed APKINDEX.tar.gz for packages",
		Long:    indexLong,
		Example: indexExample,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.args = args
			return runIndex(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.output, "output", "o", "", "write the index to `file` (\"-\" for standard output; default DIR/APKINDEX.tar.gz for a directory)")
	f.StringVarP(&opts.description, "description", "d", "", "repository `text` for the index's DESCRIPTION")
	f.StringVar(&opts.rewriteArch, "rewrite-arch", "", "index every package under `arch` (as abuild does for noarch packages)")
	f.StringVarP(&opts.key, "key", "k", "", "private key `file` that signs the index (default: the configured signing_key)")
	f.BoolVar(&opts.noSign, "no-sign", false, "write the index unsigned")
	f.BoolVar(&opts.sha1, "sha1", false, "sign with RSA over SHA-1 (.SIGN.RSA.) for apk older than 2.7")
	f.StringVarP(&opts.old, "index", "x", "", "reuse the entries of the old index `file` for unchanged packages")
	f.StringArrayVar(&opts.keysDirs, "keys-dir", nil, "also trust the public keys in `dir` (repeatable)")
	f.BoolVar(&opts.allowUntrusted, "allow-untrusted", false, "accept packages that no trusted key signed")
	f.BoolVar(&opts.verifyData, "verify-data", false, "also check each package's data segment against its datahash and file checksums")
	f.BoolVar(&opts.noWarnings, "no-warnings", false, "do not warn about dependencies no indexed package provides")
	f.BoolVar(&opts.json, "json", false, "print the result as JSON")
	_ = cmd.RegisterFlagCompletionFunc("rewrite-arch", completeArch)
	return cmd
}

func runIndex(ctx context.Context, app *App, opts *indexOptions) error {
	dir := ""
	if len(opts.args) == 1 {
		if st, err := os.Stat(opts.args[0]); err == nil && st.IsDir() {
			dir = opts.args[0]
		}
	}
	out := opts.output
	if out == "" {
		out = "-"
		if dir != "" {
			out = filepath.Join(dir, repo.IndexName)
		}
	}
	if out == "-" {
		if app.IO.IsStdoutTTY() {
			return usageErrorf("will not write a binary index to a terminal: give -o FILE")
		}
		if opts.json {
			return usageErrorf("--json needs -o FILE: the index itself goes to standard output")
		}
	}
	if st, err := os.Stat(out); out != "-" && err == nil && st.IsDir() {
		return usageErrorf("-o %s: is a directory: give a file, such as %s", out, filepath.Join(out, repo.IndexName))
	}
	if opts.rewriteArch != "" && !apkbuild.KnownArch(opts.rewriteArch) {
		return usageErrorf("--rewrite-arch: %q is not an Alpine architecture (x86_64, aarch64, armv7, ...)", opts.rewriteArch)
	}
	if opts.noSign && opts.key != "" {
		return usageErrorf("--key and --no-sign cannot be used together")
	}

	mtime, err := indexTime(app)
	if err != nil {
		return err
	}
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	var key *sign.PrivateKey
	if !opts.noSign {
		if opts.key == "" && cfg.SigningKey == "" {
			return usageErrorf("no signing key: give --key FILE, set signing_key (apkit keygen makes one), or pass --no-sign")
		}
		if key, err = loadSigningKey(app, cfg, opts.key); err != nil {
			return err
		}
	}
	alg := sign.RSA256
	if opts.sha1 {
		alg = sign.RSA
	}
	kr, err := loadKeyring(app, cfg, opts.keysDirs)
	if err != nil {
		return err
	}
	if key != nil && kr.Key(key.Name) == nil {
		kr.Add(key.Name, &key.Key.PublicKey)
	}

	// Writing a repository directory's own index: hold its lock from
	// listing the packages to renaming the index, so that an apkit serve
	// or build adding packages meanwhile waits instead of being dropped.
	ownIndex := dir != "" && out != "-" && sameFile(filepath.Dir(out), dir)
	if ownIndex {
		unlock, err := repo.LockDir(ctx, dir)
		if err != nil {
			return err
		}
		defer unlock()
	}
	files, err := indexInputs(opts.args, dir)
	if err != nil {
		return err
	}
	old, implicitOld := opts.old, false
	if old == "" && ownIndex {
		if _, err := os.Stat(out); err == nil {
			old, implicitOld = out, true
		}
	}

	iopts := repo.IndexOptions{
		RewriteArch:    opts.rewriteArch,
		Keys:           kr,
		AllowUntrusted: opts.allowUntrusted,
		VerifyData:     opts.verifyData,
		Progress:       indexProgress{app},
	}
	if old != "" {
		ix, mtime, err := readOldIndex(old)
		switch {
		case err == nil:
			iopts.Old, iopts.OldModTime = ix, mtime
		case implicitOld:
			app.IO.Warnf("%v: reading every package", err)
		default:
			return err
		}
	}
	res, err := repo.IndexFiles(ctx, files, iopts)
	if err != nil {
		if errors.Is(err, sign.ErrUntrusted) {
			err = fmt.Errorf("%w (trust its signer's public key with --keys-dir DIR, or pass --allow-untrusted)", err)
		}
		if isVerifyError(err) {
			return verifyFailed(err)
		}
		return err
	}

	desc := opts.description
	if desc == "" && iopts.Old != nil {
		desc = iopts.Old.Description
	}
	ix := &index.Index{Description: desc, Records: res.Records, ModTime: mtime}
	write := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		if err := index.WriteSigned(bw, ix, key, alg); err != nil {
			return err
		}
		return bw.Flush()
	}
	if out == "-" {
		if err := write(app.IO.Out); err != nil {
			return err
		}
	} else if err := repo.WriteFile(out, 0o644, write); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}

	result := indexResult{Output: out, Packages: len(res.Records), Read: res.Read, Reused: res.Reused, Description: desc}
	if key != nil {
		result.SignedBy = key.Name
	}
	if missing := index.Unsatisfied(res.Records); len(missing) > 0 && !opts.noWarnings {
		app.IO.Warnf("no provider in the index for %d dependencies: %s", len(missing), strings.Join(missing, " "))
	}
	app.IO.Infof("Index has %d packages (of which %d are new)", result.Packages, result.Read)
	switch {
	case opts.json:
		return writeJSONLine(app.IO.Out, result)
	case out != "-":
		_, err := fmt.Fprintln(app.IO.Out, out)
		return err
	}
	return nil
}

// sameFile reports whether two paths name the same existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// indexInputs turns the arguments into package files: the directory dir's
// *.apk files (not dot-files) when it is set, otherwise every argument,
// none of which may be a directory.
func indexInputs(args []string, dir string) ([]string, error) {
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		var files []string
		for _, e := range ents {
			n := e.Name()
			if !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".apk") && e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, n))
			}
		}
		return files, nil
	}
	// A file named twice (overlapping shell globs, say) is indexed once.
	var (
		files []string
		seen  []os.FileInfo
	)
next:
	for _, a := range args {
		st, err := os.Stat(a)
		if err == nil && st.IsDir() {
			return nil, usageErrorf("%s is a directory: give one directory alone, or package files", a)
		}
		if err == nil {
			for _, o := range seen {
				if os.SameFile(o, st) {
					continue next
				}
			}
			seen = append(seen, st)
		}
		files = append(files, a)
	}
	return files, nil
}

// readOldIndex reads a previous index for reuse (its signature is not
// checked: only entries of files that are read anyway would differ).
func readOldIndex(path string) (*index.Index, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("--index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	ix, err := index.Read(f)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("--index %s: %w", path, err)
	}
	return ix, st.ModTime(), nil
}

// indexTime is the mtime written into the index: SOURCE_DATE_EPOCH when
// set, else now.
func indexTime(app *App) (time.Time, error) {
	if s := app.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH: %q is not a number of seconds", s)
		}
		return time.Unix(sec, 0), nil
	}
	return app.Now(), nil
}

// isVerifyError reports whether err is a package failing verification
// (exit code 3) rather than an I/O or usage problem.
func isVerifyError(err error) bool {
	for _, target := range []error{sign.ErrUntrusted, sign.ErrBadSignature, apk.ErrMalformed, apk.ErrTruncated,
		apk.ErrDataHashMismatch, apk.ErrChecksumMismatch, repo.ErrNoDataHash} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// indexProgress shows each package with -v.
type indexProgress struct{ app *App }

func (p indexProgress) Package(file string, reused bool) {
	if reused {
		p.app.IO.Verbosef("reused %s", file)
	} else {
		p.app.IO.Verbosef("read %s", file)
	}
}
