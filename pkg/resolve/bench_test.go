package resolve

import (
	"testing"
)

// largestPlan is the name whose plan is the largest on the real Alpine
// v3.17 aarch64 index (see TestLargestPlan).
const largestPlan = "avahi-ui-dev"

// TestLargestPlan keeps largestPlan honest: no other name of the index
// gives a larger plan.
func TestLargestPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("solves every name of a real index")
	}
	recs := readIndex(t, "alpine-317")
	db, err := NewDB(Config{Arch: "aarch64", Repositories: []Repository{{Records: recs}}})
	if err != nil {
		t.Fatal(err)
	}
	best, bestN := "", 0
	for _, r := range recs {
		plan, err := db.Solve(Request{Add: []string{r.Name}})
		if err != nil {
			continue
		}
		if len(plan.Changes) > bestN {
			best, bestN = r.Name, len(plan.Changes)
		}
	}
	plan, err := db.Solve(Request{Add: []string{largestPlan}})
	if err != nil {
		t.Fatalf("%v (the largest plan is %s's, %d packages)", err, best, bestN)
	}
	if len(plan.Changes) != bestN {
		t.Errorf("largestPlan %s gives %d packages; %s gives %d", largestPlan, len(plan.Changes), best, bestN)
	}
}

// BenchmarkSolveLargest solves the largest plan of the real v3.17 index
// (195 packages). BenchmarkNewDB, loading the same index's records, is
// the baseline to compare it with.
func BenchmarkSolveLargest(b *testing.B) {
	recs := readIndex(b, "alpine-317")
	db, err := NewDB(Config{Arch: "aarch64", Repositories: []Repository{{Records: recs}}})
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Add: []string{largestPlan}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plan, err := db.Solve(req)
		if err != nil || len(plan.Changes) != 195 {
			b.Fatalf("solve %s: %v", largestPlan, err)
		}
	}
}

// BenchmarkNewDB loads the real v3.17 index's 5,004 records into a DB.
func BenchmarkNewDB(b *testing.B) {
	recs := readIndex(b, "alpine-317")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := NewDB(Config{Arch: "aarch64", Repositories: []Repository{{Records: recs}}}); err != nil {
			b.Fatal(err)
		}
	}
}
