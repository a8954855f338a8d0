package install

import (
	"context"
	"errors"
	"fmt"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/resolve"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// A Solver opens a root's repositories and solves a request against them
// and the root's database, as [OpenRepository] and [Solve] do, but makes
// the solver's database while the indexes are still being read: each
// index's records are added, batch by batch, in a second goroutine as
// they are parsed. This is how apk add's work fits in the time of reading
// the indexes on a machine with more than one CPU.
//
// A Solver is for one solve, and is not safe for concurrent use. Once
// [Solver.Open] fails, the Solver keeps that error: the records it had
// taken cannot be taken back.
type Solver struct {
	// BeforeIndex, when set, is called before each index is read with
	// the number of records it is expected to hold, estimated from its
	// size, so that the caller can make room for them.
	BeforeIndex func(records int)

	arch  string
	db    *Database
	b     *resolve.Builder
	repos []*Repository
	err   error
}

// NewSolver reads root's database (an empty one when root does not exist)
// and gets ready to open repositories for arch.
func NewSolver(root, arch string) (*Solver, error) {
	db, err := readDatabaseIfAny(root)
	if err != nil {
		return nil, err
	}
	b, err := resolve.NewBuilder(arch, installedOf(db))
	if err != nil {
		return nil, fmt.Errorf("solve: %w", err)
	}
	return &Solver{arch: arch, db: db, b: b}, nil
}

// Open opens repository u as [OpenRepository] does, with tag (see
// [Repository.Tag]), and adds its packages to the solve. Repositories are
// listed in the order they are opened.
func (s *Solver) Open(ctx context.Context, u, tag string, kr *sign.Keyring, f *Fetch) (*Repository, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.b == nil {
		return nil, errors.New("solve: repository opened after the solve")
	}
	if err := s.b.Repository(tag); err != nil {
		s.err = fmt.Errorf("solve: %w", err)
		return nil, s.err
	}
	// Three stages, each a goroutine: this one reads and parses the
	// index, the next parses the records' dependency items, the last binds
	// them to names in the solver's database.
	recs := make(chan []*index.Record, 64)
	batches := make(chan *resolve.Batch, 64)
	done := make(chan struct{})
	go func() {
		defer close(batches)
		for r := range recs {
			batches <- resolve.Prepare(r)
		}
	}()
	go func() {
		defer close(done)
		for batch := range batches {
			s.b.AddBatch(batch)
		}
	}()
	r, err := openRepository(ctx, u, s.arch, kr, f, func(n int) {
		if s.BeforeIndex != nil {
			s.BeforeIndex(n)
		}
		s.b.Grow(n)
	}, func(r []*index.Record) { recs <- r })
	close(recs)
	<-done
	if err != nil {
		s.err = err
		return nil, err
	}
	r.Tag = tag
	s.repos = append(s.repos, r)
	return r, nil
}

// Repositories returns the repositories opened so far, in order.
func (s *Solver) Repositories() []*Repository { return s.repos }

// Solve computes the plan that meets req as [Solve] does, over the root's
// database and the repositories opened. A Solver solves once.
func (s *Solver) Solve(req Request) (*resolve.Plan, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.b == nil {
		return nil, errors.New("solve: already solved")
	}
	rdb := s.b.DB()
	s.b = nil
	return solveWith(rdb, s.db, s.repos, req)
}
