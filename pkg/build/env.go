package build

import (
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
)

// Default compiler flags, as abuild's default.conf sets them (APKBUILD.md §4.2).
const (
	defaultCFLAGS  = "-Os -fstack-clash-protection -Wformat -Werror=format-security"
	defaultLDFLAGS = "-Wl,--as-needed,-O1,--sort-common"
	defaultPath    = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// dirs are the directories of one build.
type dirs struct {
	startdir, apkbuild         string
	srcdir, pkgbasedir, tmpdir string
	home, controldir, staging  string
	logFile                    string
	repo                       string
}

func newDirs(startdir string) dirs {
	d := dirs{
		startdir:   startdir,
		apkbuild:   filepath.Join(startdir, "APKBUILD"),
		srcdir:     filepath.Join(startdir, "src"),
		pkgbasedir: filepath.Join(startdir, "pkg"),
		tmpdir:     filepath.Join(startdir, "tmp"),
		logFile:    filepath.Join(startdir, "build.log"),
		repo:       filepath.Base(filepath.Dir(startdir)),
	}
	d.home = filepath.Join(d.tmpdir, "home")
	d.controldir = filepath.Join(d.tmpdir, ".apkit")
	d.staging = filepath.Join(d.tmpdir, ".apkit", "out")
	return d
}

// environment returns the phase environment of APKBUILD.md §4.2 and §4.3,
// sorted, as KEY=VALUE.
func (b *builder) environment() []string {
	o := b.opts
	jobs := o.Jobs
	if jobs < 1 {
		jobs = 1
	}
	chost := apkbuild.Triplet(o.Arch)
	cbuild := apkbuild.Triplet(o.BuildArch)
	env := map[string]string{
		"PATH":                                strings.Join(append(slices.Clone(o.PathPrepend), defaultPath), ":"),
		"HOME":                                b.d.home,
		"startdir":                            b.d.startdir,
		"APKBUILD":                            b.d.apkbuild,
		"srcdir":                              b.d.srcdir,
		"pkgbasedir":                          b.d.pkgbasedir,
		"tmpdir":                              b.d.tmpdir,
		"repo":                                b.d.repo,
		"CBUILD":                              cbuild,
		"CHOST":                               chost,
		"CTARGET":                             chost,
		"CARCH":                               o.Arch,
		"CBUILD_ARCH":                         o.BuildArch,
		"CTARGET_ARCH":                        o.Arch,
		"CLIBC":                               apkbuild.LibcOf(chost),
		"CTARGET_LIBC":                        apkbuild.LibcOf(chost),
		"CC":                                  "cc",
		"CXX":                                 "c++",
		"LD":                                  "ld",
		"CPPFLAGS":                            "",
		"CFLAGS":                              defaultCFLAGS,
		"CXXFLAGS":                            defaultCFLAGS + " -D_GLIBCXX_ASSERTIONS=1 -D_LIBCPP_ENABLE_THREAD_SAFETY_ANNOTATIONS=1 -D_LIBCPP_HARDENING_MODE=_LIBCPP_HARDENING_MODE_FAST",
		"LDFLAGS":                             defaultLDFLAGS,
		"GOFLAGS":                             "-buildmode=pie -modcacherw -trimpath -buildvcs=false",
		"DFLAGS":                              "-Os",
		"JOBS":                                strconv.Itoa(jobs),
		"MAKEFLAGS":                           o.Makeflags,
		"SAMUFLAGS":                           "-j" + strconv.Itoa(jobs),
		"CARGO_BUILD_JOBS":                    strconv.Itoa(jobs),
		"CMAKE_BUILD_PARALLEL_LEVEL":          strconv.Itoa(jobs),
		"CTEST_PARALLEL_LEVEL":                strconv.Itoa(jobs),
		"CTEST_OUTPUT_ON_FAILURE":             "ON",
		"CTEST_NO_TESTS_ACTION":               "error",
		"CARGO_PROFILE_RELEASE_OPT_LEVEL":     "s",
		"CARGO_PROFILE_RELEASE_PANIC":         "abort",
		"CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "1",
		"CARGO_PROFILE_RELEASE_LTO":           "true",
		"RUST_LIBC_UNSTABLE_MUSL_V1_2_3":      "1",
		"PERL_MM_USE_DEFAULT":                 "1",
		"GOCACHE":                             filepath.Join(b.d.tmpdir, "go"),
		"GOMODCACHE":                          filepath.Join(b.d.tmpdir, "gomod"),
		"GOTMPDIR":                            b.d.tmpdir,
		"CARGO_HOME":                          filepath.Join(b.d.tmpdir, "cargo"),
		"HARECACHE":                           filepath.Join(b.d.tmpdir, "hare-cache"),
		"SOURCE_DATE_EPOCH":                   strconv.FormatInt(b.sde, 10),
		"ABUILD_LAST_COMMIT":                  b.commit,
		"REPODEST":                            o.Repodest,
		"SRCDEST":                             o.Srcdest,
		"PACKAGER":                            o.Packager,
		"APKIT_META":                          filepath.Join(b.d.controldir, "meta"),
	}
	if o.Makeflags == "" {
		env["MAKEFLAGS"] = "-j" + strconv.Itoa(jobs)
	}
	if o.Packager == "" {
		delete(env, "PACKAGER")
	}
	for k, v := range o.Env {
		env[k] = v
	}
	// The build's date and commit, whichever way they were chosen.
	env["SOURCE_DATE_EPOCH"] = strconv.FormatInt(b.sde, 10)
	env["ABUILD_LAST_COMMIT"] = b.commit
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
