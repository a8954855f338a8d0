package version

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"1", true},
		{"1.0", true},
		{"1.2.3", true},
		{"1.0a", true},
		{"1.0_alpha", true},
		{"1.0_beta2", true},
		{"1.0_rc1_p2", true},
		{"1.0_git20260101", true},
		{"1.0-r0", true},
		{"2.12.1-r14", true},
		{"01.2", true},
		{"12345678901234567", true},
		{"123456789012345678", false},
		{"", false},
		{"a", false},
		{".1", false},
		{"1..2", false},
		{"1.0p1", false},
		{"1.0_foo", false},
		{"1-r1-r2", false},
		{"1.0-r", false},
		{"1.0ab", false},
		{"1.0-1", false},
		{"1.0~abc", false},
		{"1.0 ", false},
		{"1.0_p", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := Valid(tc.in); got != tc.want {
				t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if ValidPkgver("1.0-r1") {
		t.Error("ValidPkgver accepts -r")
	}
	if !ValidPkgver("1.0_rc1") {
		t.Error("ValidPkgver rejects 1.0_rc1")
	}
	if _, err := Parse("x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse error %v does not wrap ErrInvalid", err)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	// Each pair is a < b (from the spec, then our own).
	less := [][2]string{
		{"1.0", "1.0.1"},
		{"1.0a", "1.0.1"},
		{"1.0", "1.0a"},
		{"1.0_alpha", "1.0_beta2"},
		{"1.0_beta2", "1.0_pre"},
		{"1.0_pre", "1.0_rc1"},
		{"1.0_rc1", "1.0"},
		{"1.0", "1.0_cvs"},
		{"1.0_cvs", "1.0_svn"},
		{"1.0_svn", "1.0_git"},
		{"1.0_git", "1.0_hg"},
		{"1.0_hg", "1.0_p1"},
		{"1.0_rc", "1.0_rc1"},
		{"1.0_p", "1.0_p0"},
		{"1.0_alpha_beta", "1.0_alpha"},
		{"1.0_pre1", "1.0_pre1_p2"},
		{"1.0", "1.0-r1"},
		{"1.0-r2", "1.0a-r1"},
		{"1.9", "1.10"},
		{"1.05", "1.5"},
		{"1.001", "1.01"},
		{"1.09", "1.012"},
		{"1.00", "1.0"},
		{"1.0-r9", "1.0-r10"},
		{"2.12.1-r0", "2.12.10-r0"},
		{"1_p1", "1.0"},
		{"0.9.9", "1"},
		{"1.2_rc1-r5", "1.2-r0"},
	}
	for _, p := range less {
		t.Run(p[0]+"<"+p[1], func(t *testing.T) {
			if got := Compare(p[0], p[1]); got != -1 {
				t.Errorf("Compare(%q, %q) = %d, want -1", p[0], p[1], got)
			}
			if got := Compare(p[1], p[0]); got != 1 {
				t.Errorf("Compare(%q, %q) = %d, want 1", p[1], p[0], got)
			}
		})
	}
	for _, p := range [][2]string{{"01.2", "1.2"}, {"1.0", "1.0"}, {"1.0-r0", "1.0-r0"}} {
		if got := Compare(p[0], p[1]); got != 0 {
			t.Errorf("Compare(%q, %q) = %d, want 0", p[0], p[1], got)
		}
	}
	if Compare("bogus", "1.0") != -1 || Compare("1.0", "bogus") != 1 {
		t.Error("invalid versions must sort before valid ones")
	}
}

func TestParseDependency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Dependency
		wantErr bool
	}{
		{in: "foo", want: Dependency{Name: "foo"}},
		{in: "!foo", want: Dependency{Name: "foo", Conflict: true}},
		{in: "foo>=1.2", want: Dependency{Name: "foo", Op: ">=", Version: "1.2"}},
		{in: "foo<2", want: Dependency{Name: "foo", Op: "<", Version: "2"}},
		{in: "foo~1.2", want: Dependency{Name: "foo", Op: "~", Version: "1.2"}},
		{in: "foo=1.2-r3", want: Dependency{Name: "foo", Op: "=", Version: "1.2-r3"}},
		{in: "foo>~1.2", want: Dependency{Name: "foo", Op: ">~", Version: "1.2"}},
		{in: "foo<~1.2", want: Dependency{Name: "foo", Op: "<~", Version: "1.2"}},
		{in: "foo<=1", want: Dependency{Name: "foo", Op: "<=", Version: "1"}},
		{in: "foo>1", want: Dependency{Name: "foo", Op: ">", Version: "1"}},
		{in: "so:libc.musl-x86_64.so.1", want: Dependency{Name: "so:libc.musl-x86_64.so.1"}},
		{in: "pc:glib-2.0>=2.70", want: Dependency{Name: "pc:glib-2.0", Op: ">=", Version: "2.70"}},
		{in: "/bin/sh", want: Dependency{Name: "/bin/sh"}},
		// apk reads any run of <, >, = and ~ as the operator (real aports
		// recipes write these three).
		{in: "c-stdaux-dev~=1", want: Dependency{Name: "c-stdaux-dev", Op: "~=", Version: "1"}},
		{in: "libqalculate-dev=~5.2", want: Dependency{Name: "libqalculate-dev", Op: "=~", Version: "5.2"}},
		{in: "dart-bootstrap=>3.2.0_alpha150_p0", want: Dependency{Name: "dart-bootstrap", Op: "=>", Version: "3.2.0_alpha150_p0"}},
		{in: "foo=<1", want: Dependency{Name: "foo", Op: "=<", Version: "1"}},
		{in: "!foo~~1", want: Dependency{Name: "foo", Conflict: true, Op: "~~", Version: "1"}},
		// "><" compares a package checksum: apk does not read it as a version
		{in: "foo><Q1abc=", want: Dependency{Name: "foo", Op: "><", Version: "Q1abc="}},
		{in: "foo=~", wantErr: true},
		{in: "foo=>x", wantErr: true},
		{in: "foo>=1<2", wantErr: true},
		{in: "foo=bar", wantErr: true},
		{in: "foo>=", wantErr: true},
		{in: "=1.0", wantErr: true},
		{in: "!", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDependency(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseDependency(%q) = %+v, want an error", tc.in, got)
				}
				if !errors.Is(err, ErrDependency) {
					t.Errorf("error %v does not wrap ErrDependency", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestSatisfies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dep, ver string
		want     bool
	}{
		{"foo", "1", true},
		{"foo~1.2", "1.2", true},
		{"foo~1.2", "1.2.5", true},
		{"foo~1.2", "1.2-r3", true},
		{"foo~1.2", "1.3", false},
		{"foo~1.2", "1.20", false},
		{"foo>=1.2", "1.2", true},
		{"foo>=1.2", "1.1", false},
		{"foo<2", "1.9", true},
		{"foo=1.0-r1", "1.0-r1", true},
		{"foo=1.0", "1.0-r1", false},
		{"foo>~1.2", "1.2.9", true},
		{"foo<~1.2", "1.2.9", true},
		{"foo<~1.2", "1.3", false},
		// each operator character adds what it accepts, as in apk
		{"foo=>1.2", "1.2", true},
		{"foo=>1.2", "1.3", true},
		{"foo=>1.2", "1.1", false},
		{"foo=<1.2", "1.1", true},
		{"foo=<1.2", "1.3", false},
		{"foo~=1", "1.5.2-r0", true},
		{"foo~=1", "2.0", false},
		{"foo=~5.2", "5.2.1", true},
		{"foo=~5.2", "5.3.0", false},
		{"foo<>=1", "7", true},
		{"foo><Q1abc=", "1", false},
		// apk's fuzzy comparison stops where the shorter version ends
		{"foo~1.2", "1", true},
		{"foo~1.2", "1a", true},
		{"foo~1.2-r3", "1.2.1-r0", true},
		{"foo~1.0", "1.01", false},
		{"foo~1.0", "1.00", false},
		{"foo~1.2_rc1", "1.2", true},
		{"foo>1.2", "1.2.1", true},
		{"foo>~1.2", "1", true},
		{"foo<1.2", "1.2_rc1", true},
	}
	for _, tc := range tests {
		t.Run(tc.dep+"/"+tc.ver, func(t *testing.T) {
			d, err := ParseDependency(tc.dep)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Satisfies(tc.ver); got != tc.want {
				t.Errorf("Satisfies(%q) = %v, want %v", tc.ver, got, tc.want)
			}
		})
	}
}

func TestParseDependencies(t *testing.T) {
	t.Parallel()
	got, err := ParseDependencies(" foo\tbar>=1\n!baz ")
	if err != nil {
		t.Fatal(err)
	}
	want := []Dependency{{Name: "foo"}, {Name: "bar", Op: ">=", Version: "1"}, {Name: "baz", Conflict: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if _, err := ParseDependencies("a b=x"); err == nil {
		t.Error("want an error for b=x")
	}
}

func TestCheckPkginfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"foo", true},
		{"!foo", true},
		{"foo>=1", true},
		{"foo<~1", true},
		{"foo>~1", true},
		{"foo~1", true},
		{"foo~=1", false},
		{"foo=~1", false},
		{"foo=>1", false},
		{"foo><Q1abc=", false},
	}
	for _, tc := range tests {
		d, err := ParseDependency(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		err = d.CheckPkginfo()
		if (err == nil) != tc.ok {
			t.Errorf("%s: CheckPkginfo() = %v, want ok %v", tc.in, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrDependency) {
			t.Errorf("%s: %v does not wrap ErrDependency", tc.in, err)
		}
	}
}

func TestCanonicalOp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		item, op string
		checksum bool
	}{
		{"a", "", false},
		{"a<1", "<", false},
		{"a=<1", "<=", false},
		{"a=~1", "~", false},
		{"a~1", "~", false},
		{"a==1", "=", false},
		{"a=>1", ">=", false},
		{"a>1", ">", false},
		{"a><Q1abc", "><", true},
		{"a<>Q1abc", "><", true},
		{"a>~1", "?", false},
		{"a<>=1", "?", false},
	}
	for _, tt := range tests {
		t.Run(tt.item, func(t *testing.T) {
			d, err := ParseDependency(tt.item)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.CanonicalOp(); got != tt.op {
				t.Errorf("CanonicalOp() = %q, want %q", got, tt.op)
			}
			if got := d.IsChecksum(); got != tt.checksum {
				t.Errorf("IsChecksum() = %v, want %v", got, tt.checksum)
			}
		})
	}
}

// TestApk2Versions checks versions only apk 2 reads (a number after the
// letter), against what apk-tools 2.14's `apk version -t` prints for them.
func TestApk2Versions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"6.8.0p2", "6.8.0p10", -1},
		{"6.8.0p", "6.8.0p2", -1},
		{"0.99f7", "0.99g", -1},
		{"0.99f7-r1", "0.99f7-r0", 1},
		{"6.8.0p2", "6.8.0_p2", 1},
		{"1a2.3", "1a2.4", -1},
		{"1a2b", "1a2", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			if Valid(tt.a) && Valid(tt.b) {
				t.Fatalf("both %q and %q are strictly valid: not an apk 2 case", tt.a, tt.b)
			}
			if !ValidApk2(tt.a) || !ValidApk2(tt.b) {
				t.Fatalf("ValidApk2(%q), ValidApk2(%q) = false", tt.a, tt.b)
			}
			if got := Compare(tt.a, tt.b); got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := Compare(tt.b, tt.a); got != -tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
	d, err := ReadDependency("opensmtpd=6.8.0p2-r4")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Satisfies("6.8.0p2-r4") || d.Satisfies("6.8.0p3-r0") {
		t.Errorf("%v: Satisfies is wrong for apk 2 versions", d)
	}
	if _, err := ParseDependency("opensmtpd=6.8.0p2-r4"); err == nil {
		t.Error("ParseDependency accepts a version only apk 2 reads")
	}
}
