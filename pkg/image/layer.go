package image

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"

	"github.com/apkit-dev/apkit/pkg/install"
)

// fileLayer is a gzipped tar layer kept in a file, with its digests
// computed while it was written.
type fileLayer struct {
	path   string
	digest v1.Hash
	diffID v1.Hash
	size   int64
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &readCloser{Reader: zr, close: f.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// owners maps a root-relative path to the ACL apk's database records for
// it.
func owners(db *install.Database) map[string]install.ACL {
	m := map[string]install.ACL{}
	if db == nil {
		return m
	}
	for _, p := range db.Packages {
		for _, d := range p.Dirs {
			if d.Name != "" {
				m[d.Name] = d.ACL
			}
			for _, f := range d.Files {
				m[path.Join(d.Name, f.Name)] = f.ACL
			}
		}
	}
	return m
}

// writeLayer writes the gzipped tar of root into the file out and returns
// the layer.
func writeLayer(root string, db *install.Database, over map[string]Owner, created time.Time, out *os.File) (*fileLayer, error) {
	diffHash, digestHash := sha256.New(), sha256.New()
	bw := bufio.NewWriterSize(out, 1<<20)
	cnt := &counter{w: io.MultiWriter(bw, digestHash)}
	zw, err := gzip.NewWriterLevel(cnt, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffHash))
	acls := owners(db)
	for p, o := range over {
		acls[p] = install.ACL{UID: o.UID, GID: o.GID, Mode: o.Mode}
	}
	if err := writeTree(tw, root, acls, created); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return &fileLayer{
		path:   out.Name(),
		digest: sha256Hash(digestHash),
		diffID: sha256Hash(diffHash),
		size:   cnt.n,
	}, nil
}

func sha256Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// writeTree writes the entries of root to tw, sorted by path.
func writeTree(tw *tar.Writer, root string, acls map[string]install.ACL, created time.Time) error {
	asRoot := os.Geteuid() == 0
	links := map[[2]uint64]string{}
	buf := make([]byte, 256<<10)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		hdr := &tar.Header{
			Name:    rel,
			Mode:    int64(fi.Mode().Perm()),
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if fi.Mode()&fs.ModeSetuid != 0 {
			hdr.Mode |= 0o4000
		}
		if fi.Mode()&fs.ModeSetgid != 0 {
			hdr.Mode |= 0o2000
		}
		if fi.Mode()&fs.ModeSticky != 0 {
			hdr.Mode |= 0o1000
		}
		if acl, ok := acls[rel]; ok {
			hdr.Uid, hdr.Gid = acl.UID, acl.GID
			if fi.Mode()&fs.ModeSymlink == 0 {
				hdr.Mode = int64(acl.Mode & 0o7777)
			}
		} else if asRoot && st != nil {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		}
		mode := fi.Mode()
		switch {
		case mode.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case mode&fs.ModeSymlink != 0:
			hdr.Typeflag = tar.TypeSymlink
			if hdr.Linkname, err = os.Readlink(p); err != nil {
				return fmt.Errorf("layer: %w", err)
			}
			hdr.Mode = 0o777
		case mode.IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = fi.Size()
			if st != nil && st.Nlink > 1 {
				key := [2]uint64{uint64(st.Dev), st.Ino}
				if first, ok := links[key]; ok {
					hdr.Typeflag = tar.TypeLink
					hdr.Linkname = first
					hdr.Size = 0
				} else {
					links[key] = rel
				}
			}
		case mode&fs.ModeNamedPipe != 0:
			hdr.Typeflag = tar.TypeFifo
		case mode&fs.ModeDevice != 0:
			hdr.Typeflag = tar.TypeBlock
			if mode&fs.ModeCharDevice != 0 {
				hdr.Typeflag = tar.TypeChar
			}
			if st != nil {
				hdr.Devmajor = int64(unix.Major(uint64(st.Rdev)))
				hdr.Devminor = int64(unix.Minor(uint64(st.Rdev)))
			}
		default:
			// Sockets and other special files have no tar form.
			return nil
		}
		if hdr.PAXRecords, err = xattrs(p); err != nil {
			return fmt.Errorf("layer: %s: %w", rel, err)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("layer: %s: %w", rel, err)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		defer f.Close()
		n, err := io.CopyBuffer(tw, io.LimitReader(f, hdr.Size), buf)
		if err != nil {
			return fmt.Errorf("layer: %s: %w", rel, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("layer: %s: file changed size while read", rel)
		}
		return nil
	})
}

// xattrs returns the extended attributes of p as PAX records, leaving out
// the host's security labels.
func xattrs(p string) (map[string]string, error) {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
			err = nil
		}
		return nil, err
	}
	list := make([]byte, sz)
	if sz, err = unix.Llistxattr(p, list); err != nil {
		return nil, err
	}
	names := strings.Split(strings.TrimRight(string(list[:sz]), "\x00"), "\x00")
	slices.Sort(names)
	var recs map[string]string
	for _, name := range names {
		if name == "" || name == "security.selinux" || strings.HasPrefix(name, "trusted.") {
			continue
		}
		vsz, err := unix.Lgetxattr(p, name, nil)
		if err != nil {
			return nil, fmt.Errorf("xattr %s: %w", name, err)
		}
		val := make([]byte, vsz)
		if vsz, err = unix.Lgetxattr(p, name, val); err != nil {
			return nil, fmt.Errorf("xattr %s: %w", name, err)
		}
		if recs == nil {
			recs = map[string]string{}
		}
		recs["SCHILY.xattr."+name] = string(val[:vsz])
	}
	return recs, nil
}
