package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apkit-dev/apkit/pkg/index"
)

// rejectedPrefix starts the name a package file is moved aside to when
// [Repo.Reconcile] finds it unindexed and it does not verify: a dot-name,
// which is neither indexed nor served.
const rejectedPrefix = ".apkit-rejected-"

// Reconciled is what [Repo.Reconcile] did.
type Reconciled struct {
	// Temps are the temporary files removed (base names).
	Temps []string
	// Indexed are the package files that were on disk, not in the index,
	// and are now indexed.
	Indexed []string
	// Rejected maps package files that were not in the index and do not
	// verify to why; each was renamed to .apkit-rejected-NAME.
	Rejected map[string]error
	// Dropped are the index entries whose file was missing, now removed
	// from the index.
	Dropped []string
}

// Changed reports whether Reconcile changed anything.
func (c *Reconciled) Changed() bool {
	return len(c.Temps)+len(c.Indexed)+len(c.Rejected)+len(c.Dropped) > 0
}

// Reconcile brings the directory back in line with its index after a
// process that changed it was killed: under the lock it removes every
// temporary file pkg/repo makes (so it must run when nothing else is
// changing the repository, as when a server starts), indexes package files
// that the index lacks and that verify, moves aside (to
// .apkit-rejected-NAME) those that do not, and drops index entries whose
// file is gone. It writes a new index only when the entries changed.
func (r *Repo) Reconcile(ctx context.Context) (*Reconciled, error) {
	unlock, err := r.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	defer unlock()
	res := &Reconciled{Rejected: map[string]error{}}
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(r.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("reconcile: %w", err)
			}
			res.Temps = append(res.Temps, e.Name())
		}
	}
	cur, _, err := r.current()
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	var desc string
	var recs []*index.Record
	listed := map[string]bool{}
	if cur != nil {
		desc = cur.Description
		for _, rec := range cur.Records {
			name := rec.FileName()
			if !validName(rec.Name) || !validVersion(rec.Version) {
				recs = append(recs, rec) // not ours to judge
				continue
			}
			if _, err := os.Lstat(filepath.Join(r.dir, name)); errors.Is(err, fs.ErrNotExist) {
				res.Dropped = append(res.Dropped, name)
				continue
			}
			listed[name] = true
			recs = append(recs, rec)
		}
	}
	files, err := r.packageFiles()
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	for _, path := range files {
		base := filepath.Base(path)
		if listed[base] {
			continue
		}
		rec, err := r.read(ctx, path)
		if err == nil {
			err = r.checkRecord(rec, base)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reconcile: %w", ctx.Err())
		}
		if err != nil {
			if rerr := os.Rename(path, filepath.Join(r.dir, rejectedPrefix+base)); rerr != nil {
				return nil, fmt.Errorf("reconcile: %w", rerr)
			}
			res.Rejected[base] = err
			continue
		}
		rec.Arch = r.arch
		recs = append(recs, rec)
		res.Indexed = append(res.Indexed, base)
	}
	if len(res.Indexed)+len(res.Dropped) > 0 {
		index.Sort(recs)
		if err := r.writeIndex(recs, desc, nil); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
	}
	if len(res.Rejected) > 0 || len(res.Temps) > 0 {
		if err := syncDir(r.dir); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
	}
	return res, nil
}
