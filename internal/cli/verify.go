package cli

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

type verifyOptions struct {
	keysDirs       []string
	allowUntrusted bool
	json           bool
	files          []string
}

// verifyJSON is one line of `apkit verify --json`: one per file.
type verifyJSON struct {
	File string `json:"file"`
	// Kind is "package" or "index" ("" when the file could not be read).
	Kind string `json:"kind"`
	OK   bool   `json:"ok"`
	// Result is OK, UNTRUSTED, BAD signature, checksum mismatch, truncated,
	// BAD archive or error.
	Result string `json:"result"`
	// Error explains a failure.
	Error string `json:"error,omitempty"`
	// Signature is the signature that was checked, ".SIGN.<alg>.<key name>".
	Signature string `json:"signature,omitempty"`
	// KeyDir is the directory of the trusted key that checked it.
	KeyDir string `json:"key_dir,omitempty"`
	// SignedBy lists the key names the file's signatures name, when none
	// of them is trusted (UNTRUSTED).
	SignedBy []string `json:"signed_by,omitempty"`
}

const verifyLong = `Check packages (.apk) and indexes (APKINDEX.tar.gz) as apk verify does, and more:
the gzip and tar structure, the signature against the trusted keys (the first
signature whose key is trusted is checked, matched by file name as apk does),
for packages the data segment against datahash and every file against its
SHA-1 record. One line per file: "FILE: OK" or the reason it failed (UNTRUSTED,
BAD signature, checksum mismatch, truncated, BAD archive). An UNTRUSTED file
names the keys its signatures name and where apkit looked for them. A
directory stands for the packages and the APKINDEX.tar.gz in it.

Trusted keys come from every --keys-dir, the configured keys_dirs, apkit's own
keys ($XDG_CONFIG_HOME/apkit/keys), /etc/apk/keys and the public half of the
signing key (its .pub file, as apkit keygen and abuild-keygen write it).
--allow-untrusted checks integrity only: a file with no trusted signature is
OK if nothing else is wrong.

The exit status is 0 only when every file is OK, 3 when a file failed a
check, and 1 when the only failures were files that could not be read.`

func newVerifyCmd(app *App) *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [--keys-dir DIR]... FILE|DIR...",
		Short: "Check the signatures and checksums of packages and indexes",
		Long:  verifyLong,
		Example: `  apkit verify hello-2.12.1-r0.apk
  apkit verify --keys-dir keys packages/main/x86_64/*.apk packages/main/x86_64/APKINDEX.tar.gz
  apkit verify ~/packages/main/x86_64
  apkit verify --allow-untrusted --json hello-2.12.1-r0.apk`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.files = args
			return runVerify(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.keysDirs, "keys-dir", nil, "also trust the public keys in `dir` (repeatable)")
	f.BoolVar(&opts.allowUntrusted, "allow-untrusted", false, "check integrity only; a missing trusted signature is not a failure")
	f.BoolVar(&opts.json, "json", false, "print one JSON object per file")
	return cmd
}

func runVerify(ctx context.Context, app *App, opts *verifyOptions) error {
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	kr, err := loadKeyring(app, cfg, opts.keysDirs)
	if err != nil {
		return err
	}
	files, err := verifyInputs(opts.files)
	if err != nil {
		return err
	}
	failed, unreadable := 0, 0
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := verifyFile(f, kr, opts.allowUntrusted)
		if r.Result == apk.Untrusted.String() {
			r.Error = untrustedReason(r.SignedBy, keySearch(app, cfg, opts.keysDirs))
		}
		switch {
		case r.OK:
		case r.Result == resultError:
			unreadable++
		default:
			failed++
		}
		switch {
		case opts.json:
			if err := writeJSONLine(app.IO.Out, r); err != nil {
				return err
			}
		case r.OK && app.IO.Quiet():
		case r.Error != "" && r.Error != r.Result:
			// The reason often starts with the result: say it once.
			fmt.Fprintf(app.IO.Out, "%s: %s (%s)\n", f, r.Result, strings.TrimPrefix(r.Error, r.Result+": "))
		default:
			fmt.Fprintf(app.IO.Out, "%s: %s\n", f, r.Result)
		}
		switch {
		case r.Signature == "":
		case r.KeyDir == "" && cfg != nil && cfg.SigningKey != "":
			app.IO.Verbosef("%s: checked %s with the public half of the signing key, %s.pub", f, r.Signature, cfg.SigningKey)
		default:
			app.IO.Verbosef("%s: checked %s with the key in %s", f, r.Signature, r.KeyDir)
		}
	}
	switch {
	case failed > 0:
		return &silentError{code: ExitVerify}
	case unreadable > 0:
		// A file that could not be read (a wrong path, say) is no
		// verification failure.
		return &silentError{code: ExitFailure}
	}
	return nil
}

// verifyInputs expands each directory argument into the repository files
// in it: its *.apk files (not dot-files), sorted, then its APKINDEX.tar.gz.
func verifyInputs(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			files = append(files, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		n := len(files)
		for _, e := range ents {
			name := e.Name()
			if !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".apk") && e.Type().IsRegular() {
				files = append(files, filepath.Join(a, name))
			}
		}
		if _, err := os.Stat(filepath.Join(a, repo.IndexName)); err == nil {
			files = append(files, filepath.Join(a, repo.IndexName))
		}
		if len(files) == n {
			return nil, usageErrorf("%s: a directory with no packages nor %s", a, repo.IndexName)
		}
	}
	return files, nil
}

// resultError is the result of a file that could not be opened or read.
const resultError = "error"

// verifyFile checks one package or index.
func verifyFile(path string, kr *sign.Keyring, allowUntrusted bool) verifyJSON {
	out := verifyJSON{File: path}
	fail := func(result string, err error) verifyJSON {
		out.Result = result
		if err != nil {
			out.Error = err.Error()
		}
		return out
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(resultError, err)
	}
	defer f.Close()
	res := apk.Verify(f, kr, &apk.VerifyOptions{AllowUntrusted: allowUntrusted, Read: apk.ReadOptions{NoFileList: true}})
	if !errors.Is(res.Err, apk.ErrNotPackage) {
		out.Kind = "package"
		if res.Signature != nil {
			out.Signature = res.Signature.EntryName()
			out.KeyDir = kr.Dir(res.Signature.KeyName)
		}
		if res.Problem == apk.OK {
			out.OK, out.Result = true, "OK"
			return out
		}
		if res.Problem == apk.Untrusted && res.Package != nil {
			out.SignedBy = signatureKeys(res.Package.Signatures)
		}
		if res.Problem == apk.Untrusted || res.Problem == apk.BadSignature {
			return fail(res.Problem.String(), nil)
		}
		return fail(res.Problem.String(), res.Err)
	}

	// Not a package: an index, whose signature covers everything after it.
	out.Kind = "index"
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(resultError, err)
	}
	sr, err := sign.VerifyStream(f, kr, checkIndexTar)
	if sr != nil && sr.Used >= 0 {
		s := sr.Signatures[sr.Used]
		out.Signature = s.EntryName()
		out.KeyDir = kr.Dir(s.KeyName)
	}
	switch {
	case err == nil:
		out.OK, out.Result = true, "OK"
	case errors.Is(err, sign.ErrUntrusted) && allowUntrusted:
		out.OK, out.Result = true, "OK"
	case errors.Is(err, sign.ErrUntrusted):
		if sr != nil {
			out.SignedBy = signatureKeys(sr.Signatures)
		}
		return fail(apk.Untrusted.String(), nil)
	case errors.Is(err, sign.ErrBadSignature):
		return fail(apk.BadSignature.String(), nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fail(apk.Truncated.String(), err)
	default:
		return fail(apk.Malformed.String(), err)
	}
	return out
}

// signatureKeys returns the key names signatures name, in order.
func signatureKeys(sigs []sign.Signature) []string {
	var out []string
	for _, s := range sigs {
		out = append(out, s.KeyName)
	}
	return out
}

// untrustedReason says which keys an untrusted file's signatures name and
// where apkit looked for them.
func untrustedReason(keys []string, searched string) string {
	if len(keys) == 0 {
		return "not signed"
	}
	return fmt.Sprintf("signed with %s, not found in %s", strings.Join(keys, ", "), searched)
}

// checkIndexTar reads an index's tar to its end, so that a broken
// structure is found, and parses its APKINDEX text, so that text apk
// cannot read (a line longer than its buffer, for one) is found.
func checkIndexTar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("index tar: %w", err)
		}
		if hdr.Name == index.TextName {
			if hdr.Size > index.MaxTextSize {
				return fmt.Errorf("index tar: %s: %w", hdr.Name, index.ErrTooLarge)
			}
			text, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("index tar: %w", err)
			}
			if _, err := index.ParseText(text); err != nil {
				return fmt.Errorf("index tar: %w", err)
			}
			continue
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("index tar: %w", err)
		}
	}
}
