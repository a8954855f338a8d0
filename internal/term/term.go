package term

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	xterm "golang.org/x/term"
)

// ColorMode is the user's choice for colour: auto, always or never.
type ColorMode string

// The colour modes accepted by --color.
const (
	ColorAuto   ColorMode = "auto"
	ColorAlways ColorMode = "always"
	ColorNever  ColorMode = "never"
)

// Streams are the standard streams of one apkit invocation. Results go to
// Out, progress and warnings to ErrOut. The zero value is not usable; use
// [System] or [Test]. Writes are safe for concurrent use.
type Streams struct {
	In     io.Reader // standard input
	Out    io.Writer // results: paths written, listings, JSON
	ErrOut io.Writer // progress, warnings and prompts

	inTTY, outTTY, errTTY bool
	colorMode             ColorMode
	quiet, verbose        bool
	env                   func(string) string
}

// System returns streams bound to the process's stdin, stdout and stderr.
func System() *Streams {
	s := &Streams{
		In:        os.Stdin,
		Out:       &lockedWriter{w: os.Stdout},
		ErrOut:    &lockedWriter{w: os.Stderr},
		inTTY:     xterm.IsTerminal(int(os.Stdin.Fd())),
		outTTY:    xterm.IsTerminal(int(os.Stdout.Fd())),
		errTTY:    xterm.IsTerminal(int(os.Stderr.Fd())),
		colorMode: ColorAuto,
		env:       os.Getenv,
	}
	return s
}

// TestStreams are [Streams] over in-memory buffers, for tests.
type TestStreams struct {
	*Streams
	InBuf, OutBuf, ErrBuf *bytes.Buffer
}

// Test returns streams over buffers, none of them a terminal, with an empty
// environment for colour decisions.
func Test() *TestStreams {
	in, out, errb := new(bytes.Buffer), new(bytes.Buffer), new(bytes.Buffer)
	s := &Streams{
		In:        in,
		Out:       &lockedWriter{w: out},
		ErrOut:    &lockedWriter{w: errb},
		colorMode: ColorAuto,
		env:       func(string) string { return "" },
	}
	return &TestStreams{Streams: s, InBuf: in, OutBuf: out, ErrBuf: errb}
}

// SetTTY marks the streams as terminals or not (for tests).
func (s *Streams) SetTTY(in, out, errOut bool) { s.inTTY, s.outTTY, s.errTTY = in, out, errOut }

// SetColorMode sets the --color choice.
func (s *Streams) SetColorMode(m ColorMode) { s.colorMode = m }

// SetQuiet makes successful runs print nothing on ErrOut but warnings and errors.
func (s *Streams) SetQuiet(q bool) { s.quiet = q }

// SetVerbose turns on [Streams.Verbosef] output.
func (s *Streams) SetVerbose(v bool) { s.verbose = v }

// Quiet reports whether -q was given.
func (s *Streams) Quiet() bool { return s.quiet }

// Verbose reports whether -v was given.
func (s *Streams) Verbose() bool { return s.verbose }

// IsStdinTTY reports whether standard input is a terminal (prompts are allowed).
func (s *Streams) IsStdinTTY() bool { return s.inTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *Streams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *Streams) IsStderrTTY() bool { return s.errTTY }

// InCI reports whether apkit runs under a CI system (CI or GITLAB_CI set).
func (s *Streams) InCI() bool {
	return s.env("CI") != "" || s.env("GITLAB_CI") != ""
}

// InGitLabCI reports whether apkit runs in a GitLab CI job.
func (s *Streams) InGitLabCI() bool { return s.env("GITLAB_CI") == "true" }

// Animate reports whether animated progress (bars, spinners) may be drawn on
// ErrOut: only on a terminal, outside CI, and not with -q.
func (s *Streams) Animate() bool { return s.errTTY && !s.InCI() && !s.quiet }

// ColorEnabled reports whether ErrOut/Out may carry ANSI colour. --color
// always and never decide outright. With auto, NO_COLOR turns colour off,
// FORCE_COLOR (other than "0") turns it on, and otherwise colour is on when
// stderr is a terminal (TERM not "dumb") or in a GitLab CI job, whose log
// viewer renders the basic ANSI colours apkit uses.
func (s *Streams) ColorEnabled() bool {
	switch s.colorMode {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	if s.env("NO_COLOR") != "" {
		return false
	}
	if v := s.env("FORCE_COLOR"); v != "" && v != "0" {
		return true
	}
	if s.InGitLabCI() {
		return true
	}
	return s.errTTY && s.env("TERM") != "dumb"
}

// Color wraps text in the ANSI colour code when colour is enabled.
// code is an SGR parameter such as "31" (red) or "1" (bold).
func (s *Streams) Color(code, text string) string {
	if !s.ColorEnabled() {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Warnf prints a warning line on ErrOut (also with -q).
func (s *Streams) Warnf(format string, args ...any) {
	fmt.Fprintf(s.ErrOut, "%s %s\n", s.Color("33", "warning:"), strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Infof prints a progress line on ErrOut unless -q was given.
func (s *Streams) Infof(format string, args ...any) {
	if s.quiet {
		return
	}
	fmt.Fprintf(s.ErrOut, "%s\n", strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Verbosef prints a line on ErrOut only with -v.
func (s *Streams) Verbosef(format string, args ...any) {
	if !s.verbose {
		return
	}
	fmt.Fprintf(s.ErrOut, "%s\n", strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Section is an open GitLab CI collapsible log section (or a plain heading
// elsewhere). End closes it.
type Section struct {
	s     *Streams
	name  string
	start time.Time
}

// StartSection opens a collapsible section named name (an identifier: letters,
// digits, '_' and '-') with a human title. Outside GitLab CI it prints the
// title as an Infof line.
func (s *Streams) StartSection(name, title string) *Section {
	sec := &Section{s: s, name: name, start: time.Now()}
	if s.InGitLabCI() {
		fmt.Fprintf(s.ErrOut, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", sec.start.Unix(), name, title)
	} else {
		s.Infof("%s %s", s.Color("1;34", ">>>"), title)
	}
	return sec
}

// End closes the section and returns how long it was open.
func (sec *Section) End() time.Duration {
	d := time.Since(sec.start)
	if sec.s.InGitLabCI() {
		fmt.Fprintf(sec.s.ErrOut, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", time.Now().Unix(), sec.name)
	}
	return d
}

// SetEnv replaces the environment lookup used for NO_COLOR, FORCE_COLOR, CI
// and GITLAB_CI decisions (for tests).
func (s *Streams) SetEnv(env func(string) string) { s.env = env }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
