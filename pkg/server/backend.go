package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// ErrInvalidPackage is matched by a [Repository] error that refuses a
// package for what it is (422), not for what is already stored.
var ErrInvalidPackage = errors.New("invalid package")

// PackageValidator is the production [Validator]: it reads and verifies an
// uploaded package with pkg/apk (structure, datahash, every file's
// checksum) and, when Keys is set, requires a valid signature by one of
// them. It is safe for concurrent use.
type PackageValidator struct {
	// Keys are the trusted upload keys; nil checks integrity only.
	Keys *sign.Keyring
	// MaxEntries bounds the data entries of one uploaded package; 0 means
	// [DefaultUploadMaxEntries].
	MaxEntries int
}

// DefaultUploadMaxEntries is the number of data entries an uploaded
// package may have when [PackageValidator].MaxEntries is 0: lower than
// pkg/apk's own default, so that a hostile upload costs less, yet above
// the largest packages Alpine ships.
const DefaultUploadMaxEntries = 250_000

// Validate implements [Validator].
func (v PackageValidator) Validate(ctx context.Context, path string) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	max := v.MaxEntries
	if max <= 0 {
		max = DefaultUploadMaxEntries
	}
	// The file list is not needed here: each entry is checked, not kept.
	res := apk.Verify(bufio.NewReaderSize(f, 256<<10), v.Keys, &apk.VerifyOptions{
		AllowUntrusted: v.Keys == nil,
		Read:           apk.ReadOptions{NoFileList: true, MaxEntries: max},
	})
	if res.Problem != apk.OK {
		if res.Problem == apk.Untrusted && res.Package != nil {
			// Name the key the signature names (the uploader's own), so
			// that the fix is plain: add its public key to upload_keys.
			var names []string
			for _, s := range res.Package.Signatures {
				names = append(names, s.KeyName)
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("%w: the package is not signed", res.Err)
			}
			return nil, fmt.Errorf("%w: signed with %s, which is not among the server's upload keys", res.Err, strings.Join(names, ", "))
		}
		if res.Err != nil {
			return nil, res.Err
		}
		return nil, errors.New(res.Problem.String())
	}
	if res.Package == nil || res.Package.Info == nil || res.Package.Info.Name == "" || res.Package.Info.Version == "" {
		return nil, errors.New("package has no name or version in .PKGINFO")
	}
	info := res.Package.Info
	return &Package{Name: info.Name, Version: info.Version, Arch: info.Arch}, nil
}

// Repositories is the production [Repository]: it adds packages with
// pkg/repo, which locks the directory, places the files and writes the new
// index atomically. It keeps one *repo.Repo per directory and is safe for
// concurrent use.
//
// Uploads to one directory that arrive while an index update is under way
// are committed together, with one repo.Add and so one new index, which
// keeps throughput up when many clients upload at once. If that combined
// Add fails, each upload of the batch is tried on its own, so that only the
// uploads at fault fail: every upload stays all or nothing by itself.
type Repositories struct {
	// Options are given to repo.Open for every directory (Arch is left to
	// the directory's name).
	Options repo.Options

	mu     sync.Mutex
	queues map[string]*repoQueue
}

// repoQueue gathers the uploads waiting for one repository.
type repoQueue struct {
	r *repo.Repo

	mu      sync.Mutex
	pending []*addRequest
	running bool // a committer goroutine is draining pending
}

type addRequest struct {
	files []File
	done  chan error
}

func (rs *Repositories) queue(dir string) (*repoQueue, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if q, ok := rs.queues[dir]; ok {
		return q, nil
	}
	r, err := repo.Open(dir, rs.Options)
	if err != nil {
		return nil, err
	}
	if rs.queues == nil {
		rs.queues = map[string]*repoQueue{}
	}
	q := &repoQueue{r: r}
	rs.queues[dir] = q
	return q, nil
}

// Add implements [Repository]. Its errors name the uploaded files, never
// paths on the server. It returns once the files are in the repository and
// its new index is in place, or not at all.
func (rs *Repositories) Add(ctx context.Context, dir string, files []File) error {
	q, err := rs.queue(dir)
	if err != nil {
		return err
	}
	req := &addRequest{files: files, done: make(chan error, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, req)
	if !q.running {
		q.running = true
		go q.run(context.WithoutCancel(ctx))
	}
	q.mu.Unlock()
	return <-req.done
}

// run commits batches until nothing is pending.
func (q *repoQueue) run(ctx context.Context) {
	for {
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		if len(batch) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		q.commit(ctx, batch)
	}
}

func (q *repoQueue) commit(ctx context.Context, batch []*addRequest) {
	if len(batch) > 1 {
		var all []File
		for _, req := range batch {
			all = append(all, req.files...)
		}
		if err := q.add(ctx, all); err == nil {
			for _, req := range batch {
				req.done <- nil
			}
			return
		}
	}
	for _, req := range batch {
		req.done <- q.add(ctx, req.files)
	}
}

func (q *repoQueue) add(ctx context.Context, files []File) error {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	_, err := q.r.Add(ctx, paths...)
	if err == nil {
		return nil
	}
	name := "upload"
	for _, f := range files {
		if strings.Contains(err.Error(), f.Path) {
			name = f.Name
			break
		}
	}
	switch {
	case errors.Is(err, repo.ErrConflict):
		return fmt.Errorf("%s: %w", name, ErrConflict)
	case errors.Is(err, repo.ErrArch):
		return fmt.Errorf("%s: %w: %w", name, ErrInvalidPackage, repo.ErrArch)
	case errors.Is(err, repo.ErrBadName):
		return fmt.Errorf("%s: %w: %w", name, ErrInvalidPackage, repo.ErrBadName)
	}
	return err
}
