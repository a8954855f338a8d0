package version

import "testing"

// FuzzCompare checks that parsing never panics and that Compare is
// antisymmetric.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.0", "1.0_rc1"}, {"1.05", "1.5"}, {"2.0-r1", "2.0a"}, {"x", "1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if Compare(a, b) != -Compare(b, a) {
			t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, Compare(a, b), b, a, Compare(b, a))
		}
		if Valid(a) && Compare(a, a) != 0 {
			t.Fatalf("Compare(%q, %q) != 0", a, a)
		}
		_, _ = ParseDependency(a)
	})
}
