package resolve

import (
	"slices"
	"testing"
)

// TestReverseLists checks every name's rdepends and rinstallIf, made on
// demand, against the lists made the way apk makes them when it opens its
// database: walking all names in the order of its hash table (buckets by
// hash, the newest name first in a bucket), and for each, the items of its
// providers.
func TestReverseLists(t *testing.T) {
	t.Parallel()
	recs := append(readIndex(t, "alpine-317"), readIndex(t, "alpine-316")...)
	db, err := NewDB(Config{Arch: "aarch64", Repositories: []Repository{{Records: recs}}})
	if err != nil {
		t.Fatal(err)
	}
	order := slices.Clone(db.order)
	slices.SortStableFunc(order, func(a, b *name) int {
		if a.bucket != b.bucket {
			return int(a.bucket) - int(b.bucket)
		}
		return b.created - a.created
	})
	wantDeps := map[*name][]*name{}
	wantIif := map[*name][]*name{}
	for _, n := range order {
		seenDep, seenIif := map[*name]bool{}, map[*name]bool{}
		for _, p := range n.providers {
			for _, d := range p.pkg.depends {
				if !seenDep[d.name] {
					seenDep[d.name] = true
					wantDeps[d.name] = append(wantDeps[d.name], n)
				}
			}
			for _, d := range p.pkg.installIf {
				if !seenIif[d.name] {
					seenIif[d.name] = true
					wantIif[d.name] = append(wantIif[d.name], n)
				}
			}
		}
	}
	shared := 0
	for _, n := range db.order {
		if !slices.Equal(n.rdeps(), wantDeps[n]) {
			t.Fatalf("%s: rdepends %v, want %v", n.name, nameList(n.rdeps()), nameList(wantDeps[n]))
		}
		if !slices.Equal(n.riif(), wantIif[n]) {
			t.Fatalf("%s: rinstallIf %v, want %v", n.name, nameList(n.riif()), nameList(wantIif[n]))
		}
		// Count the lists where two names of one bucket meet, so that
		// the newest-first order within a bucket is put to the test.
		for i := 1; i < len(n.rdepends); i++ {
			if n.rdepends[i].bucket == n.rdepends[i-1].bucket {
				shared++
			}
		}
	}
	if shared == 0 {
		t.Error("no list holds two names of one bucket")
	}
}

func nameList(ns []*name) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.name)
	}
	return out
}

// A list of provided names too long to sort as packed numbers is sorted
// by comparing names, into the same order.
func TestProvidedByLongList(t *testing.T) {
	t.Parallel()
	db, err := NewDB(Config{Arch: "aarch64", Repositories: []Repository{{Records: readIndex(t, "alpine-317")}}})
	if err != nil {
		t.Fatal(err)
	}
	want := providedBy(db.pkgs)
	var long []*pkg
	for n := 0; n < 1<<packShift; {
		long = append(long, db.pkgs...)
		for _, p := range db.pkgs {
			n += 1 + len(p.provides)
		}
	}
	if got := providedBy(long); !slices.Equal(got, want) {
		t.Errorf("long list: %d names, want %d in the same order", len(got), len(want))
	}
}
