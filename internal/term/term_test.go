package term_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/internal/term"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name string
		mode term.ColorMode
		tty  bool
		env  map[string]string
		want bool
	}{
		{"auto on a terminal", term.ColorAuto, true, nil, true},
		{"auto not a terminal", term.ColorAuto, false, nil, false},
		{"auto dumb terminal", term.ColorAuto, true, map[string]string{"TERM": "dumb"}, false},
		{"auto NO_COLOR on a terminal", term.ColorAuto, true, map[string]string{"NO_COLOR": "1"}, false},
		{"auto FORCE_COLOR in a pipe", term.ColorAuto, false, map[string]string{"FORCE_COLOR": "1"}, true},
		{"auto FORCE_COLOR=0 in a pipe", term.ColorAuto, false, map[string]string{"FORCE_COLOR": "0"}, false},
		{"auto NO_COLOR beats FORCE_COLOR", term.ColorAuto, false, map[string]string{"NO_COLOR": "1", "FORCE_COLOR": "1"}, false},
		{"auto GitLab CI", term.ColorAuto, false, map[string]string{"CI": "true", "GITLAB_CI": "true"}, true},
		{"auto GitLab CI with NO_COLOR", term.ColorAuto, false, map[string]string{"GITLAB_CI": "true", "NO_COLOR": "1"}, false},
		{"auto other CI in a pipe", term.ColorAuto, false, map[string]string{"CI": "true"}, false},
		{"always in a pipe", term.ColorAlways, false, nil, true},
		{"always beats NO_COLOR", term.ColorAlways, false, map[string]string{"NO_COLOR": "1"}, true},
		{"never on a terminal", term.ColorNever, true, nil, false},
		{"never beats FORCE_COLOR", term.ColorNever, true, map[string]string{"FORCE_COLOR": "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := term.Test()
			s.SetTTY(false, tt.tty, tt.tty)
			s.SetColorMode(tt.mode)
			s.SetEnv(envOf(tt.env))
			if got := s.ColorEnabled(); got != tt.want {
				t.Errorf("ColorEnabled() = %v, want %v", got, tt.want)
			}
			wantText := "x"
			if tt.want {
				wantText = "\x1b[31mx\x1b[0m"
			}
			if got := s.Color("31", "x"); got != wantText {
				t.Errorf("Color(31, x) = %q, want %q", got, wantText)
			}
		})
	}
}

func TestAnimate(t *testing.T) {
	tests := []struct {
		name  string
		tty   bool
		quiet bool
		env   map[string]string
		want  bool
	}{
		{"terminal", true, false, nil, true},
		{"pipe", false, false, nil, false},
		{"terminal with -q", true, true, nil, false},
		{"terminal in GitLab CI", true, false, map[string]string{"GITLAB_CI": "true", "CI": "true"}, false},
		{"terminal in other CI", true, false, map[string]string{"CI": "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := term.Test()
			s.SetTTY(false, tt.tty, tt.tty)
			s.SetQuiet(tt.quiet)
			s.SetEnv(envOf(tt.env))
			if got := s.Animate(); got != tt.want {
				t.Errorf("Animate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCIDetection(t *testing.T) {
	tests := []struct {
		env            map[string]string
		inCI, inGitLab bool
	}{
		{nil, false, false},
		{map[string]string{"CI": "true"}, true, false},
		{map[string]string{"GITLAB_CI": "true"}, true, true},
		{map[string]string{"CI": "true", "GITLAB_CI": "true"}, true, true},
		{map[string]string{"GITLAB_CI": "false"}, true, false},
	}
	for _, tt := range tests {
		s := term.Test()
		s.SetEnv(envOf(tt.env))
		if got := s.InCI(); got != tt.inCI {
			t.Errorf("%v: InCI() = %v, want %v", tt.env, got, tt.inCI)
		}
		if got := s.InGitLabCI(); got != tt.inGitLab {
			t.Errorf("%v: InGitLabCI() = %v, want %v", tt.env, got, tt.inGitLab)
		}
	}
}

func TestSectionGitLab(t *testing.T) {
	s := term.Test()
	s.SetEnv(envOf(map[string]string{"GITLAB_CI": "true", "CI": "true"}))
	sec := s.StartSection("build_hello", "build hello 1.0-r0")
	s.Infof("compiling")
	if d := sec.End(); d < 0 {
		t.Errorf("End() = %v, want a duration >= 0", d)
	}
	// GitLab's format: ESC[0Ksection_start:<unix>:<name>[options]\rESC[0K<title>
	// and ESC[0Ksection_end:<unix>:<name>\rESC[0K, each on its own line.
	re := regexp.MustCompile(`^\x1b\[0Ksection_start:(\d+):build_hello\[collapsed=true\]\r\x1b\[0Kbuild hello 1\.0-r0\n` +
		`compiling\n` +
		`\x1b\[0Ksection_end:(\d+):build_hello\r\x1b\[0K\n$`)
	got := s.ErrBuf.String()
	m := re.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("stderr does not hold a GitLab section:\n%q", got)
	}
	if m[2] < m[1] {
		t.Errorf("section ends (%s) before it starts (%s)", m[2], m[1])
	}
	if s.OutBuf.Len() != 0 {
		t.Errorf("stdout = %q, want nothing: sections belong on stderr", s.OutBuf.String())
	}
}

func TestSectionElsewhere(t *testing.T) {
	tests := []struct {
		name  string
		quiet bool
		color bool
		want  string
	}{
		{"plain", false, false, ">>> build hello\n"},
		{"colour", false, true, "\x1b[1;34m>>>\x1b[0m build hello\n"},
		{"quiet", true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := term.Test()
			s.SetQuiet(tt.quiet)
			if tt.color {
				s.SetColorMode(term.ColorAlways)
			}
			s.StartSection("build", "build hello").End()
			if diff := cmp.Diff(tt.want, s.ErrBuf.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		name           string
		quiet, verbose bool
		want           string
	}{
		{"default", false, false, "warning: w\ni\n"},
		{"quiet keeps warnings", true, false, "warning: w\n"},
		{"verbose", false, true, "warning: w\ni\nv\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := term.Test()
			s.SetQuiet(tt.quiet)
			s.SetVerbose(tt.verbose)
			s.Warnf("w\n")
			s.Infof("i")
			s.Verbosef("v")
			if diff := cmp.Diff(tt.want, s.ErrBuf.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if s.OutBuf.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", s.OutBuf.String())
			}
		})
	}
}

func TestWarnfColour(t *testing.T) {
	s := term.Test()
	s.SetColorMode(term.ColorAlways)
	s.Warnf("disk %s", "full")
	if got, want := s.ErrBuf.String(), "\x1b[33mwarning:\x1b[0m disk full\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if strings.Contains(s.OutBuf.String(), "warning") {
		t.Error("warning went to stdout")
	}
}
