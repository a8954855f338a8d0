package resolve

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzSolve solves requests over arbitrary index text: no panic, and a
// failure is a bad request or an UnsatisfiableError with a report.
func FuzzSolve(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txtar"))
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var repo, args string
		for _, fl := range ar.Files {
			switch {
			case strings.HasPrefix(fl.Name, "repo"):
				repo += string(fl.Data)
			case fl.Name == "args":
				args = string(fl.Data)
			}
		}
		f.Add(repo, args)
	}
	f.Fuzz(func(t *testing.T, text, args string) {
		recs, err := index.ParseText([]byte(text))
		if err != nil {
			return
		}
		fillChecksums(recs)
		half := len(recs) / 2
		db, err := NewDB(Config{
			Arch: "x86_64",
			Repositories: []Repository{
				{Records: recs[:half]},
				{Tag: "edge", Records: recs[half:]},
			},
			Installed: []Installed{},
		})
		if err != nil {
			t.Fatal(err)
		}
		req := Request{Add: strings.Fields(args)}
		if len(req.Add) > 0 && strings.HasPrefix(req.Add[0], ".") {
			req.Virtual, req.Add = req.Add[0], req.Add[1:]
		}
		for i := 0; i < 2; i++ {
			plan, err := db.Solve(req)
			var uerr *UnsatisfiableError
			switch {
			case err == nil:
				_ = plan.Lines()
			case errors.Is(err, ErrBadItem):
			case errors.As(err, &uerr):
				if uerr.Report == "" || plan == nil {
					t.Fatalf("unsatisfiable without a report or plan: %v", err)
				}
			default:
				t.Fatal(err)
			}
		}
	})
}
