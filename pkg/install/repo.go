package install

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install/alpinekeys"
	"github.com/apkit-dev/apkit/pkg/sign"
	"github.com/apkit-dev/apkit/pkg/source"
	"github.com/apkit-dev/apkit/pkg/version"
)

// maxIndexSize bounds the size of a downloaded APKINDEX.tar.gz.
const maxIndexSize = 256 << 20

// indexName is the file name of a repository's index.
const indexName = "APKINDEX.tar.gz"

// Fetch says how repositories are reached. The zero value fetches local
// repositories only (remote ones need a Cache).
type Fetch struct {
	// Cache is the directory downloaded indexes and packages are kept in,
	// named as apk names them in its cache (APKINDEX.<hash>.tar.gz,
	// <name>-<version>.<hash>.apk). It may be shared by several processes.
	Cache string
	// Offline forbids the network: indexes and packages come from Cache.
	Offline bool
	// Client makes the requests; nil means source's default client.
	Client *http.Client
	// Progress receives download news; nil means none.
	Progress source.Progress
	// Jobs bounds parallel downloads (0 means source's default).
	Jobs int
	// Attempts is how many times a download is tried (0 means source's
	// default).
	Attempts int
	// AllowUntrusted accepts an index that no trusted key signed (apk
	// --allow-untrusted); an index whose signature does not verify is
	// still refused.
	AllowUntrusted bool
}

func (f *Fetch) sourceOptions() source.Options {
	return source.Options{
		Cache:    f.Cache,
		Offline:  f.Offline,
		Client:   f.Client,
		Progress: f.Progress,
		Jobs:     f.Jobs,
		Attempts: f.Attempts,
	}
}

// Repository is one package repository opened for an architecture: its
// verified index. It is safe for concurrent reads.
type Repository struct {
	// URL is the repository as /etc/apk/repositories names it: an http or
	// https URL, or a local directory. Either holds
	// <arch>/APKINDEX.tar.gz and <arch>/<name>-<version>.apk.
	URL string
	// Arch is the architecture the index is for.
	Arch string
	// Index is the repository's index, its signature verified.
	Index *index.Index
	// Signer is the name of the key whose signature was checked ("" when
	// the index was accepted unsigned).
	Signer string
	// Tag is the repository's tag without '@' ("testing" for a line
	// "@testing URL" of /etc/apk/repositories); "" is untagged. See
	// resolve.Repository.
	Tag string
}

// IsRemote reports whether repository u is reached over http or https.
func IsRemote(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

// localDir returns the directory of a local repository URL (a path or a
// file:// URL).
func localDir(u string) string {
	if rest, ok := strings.CutPrefix(u, "file://"); ok {
		return rest
	}
	return u
}

// fileURL returns the URL or path of name in repository u for arch.
func fileURL(u, arch, name string) string {
	if IsRemote(u) {
		return strings.TrimSuffix(u, "/") + "/" + url.PathEscape(arch) + "/" + url.PathEscape(name)
	}
	return filepath.Join(localDir(u), arch, name)
}

// cacheTag is the short hash that keeps the cached files of different
// repositories apart.
func cacheTag(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// Keyring returns the keys an install into root trusts: Alpine's release
// keys for arch (when alpine is true), the public keys in dir (when not ""),
// and those in the root's /etc/apk/keys. A key in root's /etc/apk/keys that
// is a symbolic link is followed inside the root, as apk does when it runs
// there.
func Keyring(root, arch, dir string, alpine bool) (*sign.Keyring, error) {
	kr, err := sign.LoadKeyring(dir)
	if err != nil {
		return nil, err
	}
	if alpine {
		if err := alpinekeys.AddTo(kr, arch); err != nil {
			return nil, err
		}
	}
	if root == "" {
		return kr, nil
	}
	r, err := os.OpenRoot(root)
	if errors.Is(err, fs.ErrNotExist) {
		return kr, nil // a root yet to be made trusts nothing of its own
	}
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	defer r.Close()
	entries, err := fs.ReadDir(r.FS(), keysDir)
	if errors.Is(err, fs.ErrNotExist) {
		return kr, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if kr.Key(name) != nil {
			continue
		}
		p := path.Join(keysDir, name)
		if e.Type()&fs.ModeSymlink != 0 {
			t, err := r.Readlink(p)
			if err != nil {
				continue
			}
			if path.IsAbs(t) {
				p = strings.TrimLeft(path.Clean(t), "/")
			} else {
				p = path.Join(keysDir, t)
			}
		}
		f, err := r.Open(p)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, 64<<10))
		f.Close()
		if err != nil {
			continue
		}
		pub, err := sign.ParsePublicKey(data)
		if err != nil {
			kr.Skipped = append(kr.Skipped, path.Join("/", keysDir, name)+": "+err.Error())
			continue
		}
		kr.Add(name, pub)
	}
	return kr, nil
}

// AlpineKeys returns Alpine's release keys for arch as files to place in a
// root's /etc/apk/keys (see [Options].Keys), as the alpine-keys package
// places them.
func AlpineKeys(arch string) ([]KeyFile, error) {
	files, err := alpinekeys.Files(arch)
	if err != nil {
		return nil, err
	}
	keys := make([]KeyFile, len(files))
	for i, f := range files {
		keys[i] = KeyFile{Name: f.Name, Data: f.Data}
	}
	return keys, nil
}

// OpenRepository reads the index of repository u for arch and checks its
// signature against kr as apk does. A remote index is downloaded again
// unless f.Offline, in which case the cached copy is used. The error names
// the repository; it wraps sign.ErrUntrusted or sign.ErrBadSignature when
// the signature is the problem.
func OpenRepository(ctx context.Context, u, arch string, kr *sign.Keyring, f *Fetch) (*Repository, error) {
	return openRepository(ctx, u, arch, kr, f, nil, nil)
}

// openRepository is OpenRepository that passes the index's records to each
// (when not nil) as they are read (see [index.ReadVerifiedFunc]), after
// telling grow (when not nil) about how many there will be.
func openRepository(ctx context.Context, u, arch string, kr *sign.Keyring, f *Fetch, grow func(int), each func([]*index.Record)) (*Repository, error) {
	if f == nil {
		f = &Fetch{}
	}
	where := fileURL(u, arch, indexName)
	file := where
	if IsRemote(u) {
		if f.Cache == "" {
			return nil, fmt.Errorf("repository %s: no cache directory for downloads", u)
		}
		name := "APKINDEX." + cacheTag(strings.TrimSuffix(u, "/")+"/"+arch) + ".tar.gz"
		if !f.Offline {
			// An index is not pinned by any checksum: always take the
			// repository's current one.
			os.Remove(filepath.Join(f.Cache, name))
		}
		opts := f.sourceOptions()
		opts.MaxSize = maxIndexSize
		res, err := source.Fetch(ctx, []source.Item{{Name: name, URL: where}}, opts)
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w", u, err)
		}
		file = res[0].Path
	}
	ix, err := readIndexFile(file, where, kr, grow, each)
	if err != nil && f.AllowUntrusted && errors.Is(err, sign.ErrUntrusted) && ix != nil {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", u, err)
	}
	r := &Repository{URL: u, Arch: arch, Index: ix}
	for _, s := range ix.Signatures {
		if _, name, ok := sign.ParseEntryName(s); ok && kr.Key(name) != nil {
			r.Signer = name
			break
		}
	}
	return r, nil
}

// readIndexFile reads and verifies the index in file, of at most
// maxIndexSize bytes, as [index.ReadVerifiedFunc] does, telling grow
// (when not nil) first about how many records to expect. Errors in the
// index name it as where.
func readIndexFile(file, where string, kr *sign.Keyring, grow func(int), each func([]*index.Record)) (*index.Index, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxIndexSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxIndexSize)
	}
	if grow != nil {
		// Alpine's indexes hold a record per 130 or so compressed bytes;
		// the hint is capped, as the file's size is the sender's to choose.
		grow(int(min(fi.Size()/128, 1<<16)))
	}
	ix, err := index.ReadVerifiedFunc(io.LimitReader(fh, maxIndexSize), kr, each)
	if err != nil {
		return ix, fmt.Errorf("%s: %w", where, err)
	}
	return ix, nil
}

// Package is one step of an install plan: an index record and the
// repository it comes from. A solver's result becomes a plan by pairing each
// chosen record with its repository's URL, in the solver's order.
type Package struct {
	// Record is the package's index record; its C: identity, name, version
	// and size are what the downloaded file is checked against.
	Record *index.Record
	// Repository is the URL or directory of the repository that holds the
	// package (see [Repository.URL]).
	Repository string
}

// Find returns the plan step for the newest package called name in r, or
// nil when r has none.
func (r *Repository) Find(name string) *Package {
	var best *index.Record
	for _, rec := range r.Index.Records {
		if rec.Name == name && (best == nil || version.Compare(rec.Version, best.Version) > 0) {
			best = rec
		}
	}
	if best == nil {
		return nil
	}
	return &Package{Record: best, Repository: r.URL}
}
