package apkbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Bounds that keep the evaluation of hostile input in check.
const (
	// DefaultTimeout bounds one evaluation's wall-clock time when
	// Options.Timeout is zero. It is a backstop far above any real recipe
	// (which reads in well under a second): the bounds on steps, calls and
	// memory end a runaway evaluation first, whatever the machine's load.
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxMemory bounds the bytes held in shell variables and
	// captured output when Options.MaxMemory is zero.
	DefaultMaxMemory = 64 << 20
	// DefaultMaxSteps bounds the steps of one evaluation when
	// Options.MaxSteps is zero. A step is one statement that expands
	// something or runs in a loop, plus one for each stepBytes its
	// expansions may produce.
	DefaultMaxSteps = 4 << 20
	// stepBytes is the expansion size that counts as one more step.
	stepBytes = 1 << 10
	// MaxFileSize is the largest recipe or shell file read.
	MaxFileSize = 4 << 20
	// maxCalls bounds the commands one evaluation runs.
	maxCalls = 100000
	// maxFuncCalls bounds the shell function calls of one evaluation,
	// which also bounds recursion depth.
	maxFuncCalls = 2000
	// maxWidth bounds printf field widths and precisions.
	maxWidth = 4096
)

// tickPrefix names the pseudo file every statement redirects its standard
// error through; opening it checks the memory bound before the statement
// runs. The number after the prefix is the statement's expansion weight.
const tickPrefix = "/dev/apkit-tick/"

// shellEval is one evaluation of a shell file.
type shellEval struct {
	filename string // as shown in errors
	dir      string // working directory (startdir)
	env      map[string]string
	timeout  time.Duration
	maxMem   int64
	maxSteps int64
	preamble bool // define abuild's helper functions first
	// interpOnly makes every file go through the interpreter (fastEval
	// is not tried).
	interpOnly bool
}

// evalResult is what a file left behind.
type evalResult struct {
	file *syntax.File
	// vars holds every variable set, the environment included.
	vars map[string]string
	// funcs holds the functions defined when the file ended; the helper
	// functions may or may not be among them.
	funcs map[string]*syntax.Stmt
	// stderr holds what the file printed on standard error (bounded).
	stderr string
}

// newParser returns a parser for the dialect busybox ash accepts: bash's
// grammar covers ash's extensions (${v/p/r}, ${v:o:l}, local, $'..').
func newParser() *syntax.Parser {
	return syntax.NewParser(syntax.Variant(syntax.LangBash))
}

// parserPool reuses parsers and their buffers.
var parserPool = sync.Pool{New: func() any { return newParser() }}

// parsed is a parsed and instrumented shell file.
type parsed struct {
	file *syntax.File
	// funcs holds every function declaration outside other functions, by
	// name; their bodies are instrumented when first called.
	funcs map[string][]*syntax.FuncDecl
	// assigns holds the last assignment to each name outside functions.
	assigns map[string]*syntax.Assign
}

// parseShell parses src and instruments it, except for function bodies,
// which [guard.call] instruments lazily: most of a recipe is build phases
// that evaluation never runs.
func parseShell(src []byte, filename string) (*parsed, error) {
	if len(src) > MaxFileSize {
		return nil, &ParseError{File: filename, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize), Err: ErrLimit}
	}
	parser := parserPool.Get().(*syntax.Parser)
	f, err := parser.Parse(bytes.NewReader(src), filename)
	parserPool.Put(parser)
	if err != nil {
		return nil, syntaxError(filename, err)
	}
	p := &parsed{file: f, funcs: map[string][]*syntax.FuncDecl{}, assigns: map[string]*syntax.Assign{}}
	if bad := instrumentNode(f, p); bad != nil {
		return nil, bad.err(filename)
	}
	// $0 is abuild's own path when a recipe is sourced.
	f.Name = "/usr/bin/abuild"
	return p, nil
}

// syntaxError turns a parser error into a *ParseError.
func syntaxError(filename string, err error) error {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: filename, Line: int(pe.Pos.Line()), Col: int(pe.Pos.Col()), Msg: "syntax error: " + pe.Text, Err: err}
	}
	var le syntax.LangError
	if errors.As(err, &le) {
		return &ParseError{File: filename, Line: int(le.Pos.Line()), Col: int(le.Pos.Col()), Msg: le.Feature + " is not supported", Err: ErrUnsupported}
	}
	return &ParseError{File: filename, Msg: err.Error(), Err: err}
}

// instrument prepares a whole file, function bodies included.
func instrument(f *syntax.File) *notAsh { return instrumentNode(f, nil) }

// notAsh is a construct mvdan.cc/sh accepts but busybox ash rejects or
// reads differently.
type notAsh struct {
	pos  syntax.Pos
	what string
	// own is set for what ash runs but evaluation refuses.
	own bool
}

func (n *notAsh) msg() string {
	if n.own {
		return n.what + " is not supported while evaluating"
	}
	return n.what + " is not supported by busybox ash"
}

func (n *notAsh) err(filename string) error {
	return &ParseError{File: filename, Line: int(n.pos.Line()), Col: int(n.pos.Col()), Msg: n.msg(), Err: ErrUnsupported}
}

// ashCheck reports what in node busybox ash would not accept the same way.
func ashCheck(node syntax.Node) *notAsh {
	bad := func(pos syntax.Pos, what string) *notAsh { return &notAsh{pos: pos, what: what} }
	switch n := node.(type) {
	case *syntax.Stmt:
		// Background jobs would outlive the evaluation.
		if n.Background || n.Coprocess {
			return &notAsh{n.Pos(), "a background job (&)", true}
		}
	case *syntax.ProcSubst:
		return &notAsh{n.Pos(), "process substitution", true}
	case *syntax.Assign:
		if n.Array != nil || n.Index != nil {
			return bad(n.Pos(), "an array")
		}
	case *syntax.ParamExp:
		switch {
		case n.Excl || n.Names != 0:
			return bad(n.Pos(), "indirect expansion ${!...}")
		case n.Index != nil:
			return bad(n.Pos(), "an array subscript")
		case n.Width || n.IsSet || n.Flags != nil || n.NestedParam != nil:
			return bad(n.Pos(), "this parameter expansion")
		case n.Exp != nil && n.Exp.Op >= syntax.MatchEmpty:
			return bad(n.Pos(), "case conversion and ${var@op} expansions")
		}
	case *syntax.ArithmExp:
		if n.Bracket {
			return bad(n.Pos(), "$[...] arithmetic")
		}
	case *syntax.ArithmCmd:
		return bad(n.Pos(), "the arithmetic command ((...)) (use $((...)))")
	case *syntax.DblQuoted:
		if n.Dollar {
			return bad(n.Pos(), "$\"...\" quoting")
		}
	case *syntax.BinaryCmd:
		if n.Op == syntax.PipeAll {
			return bad(n.OpPos, "|&")
		}
	case *syntax.CaseItem:
		if n.Op != syntax.Break {
			return bad(n.OpPos, "case fall-through (;& or ;;&)")
		}
	case *syntax.Redirect:
		if n.Op == syntax.WordHdoc {
			return bad(n.OpPos, "a here-string (<<<)")
		}
	case *syntax.DeclClause:
		if v := n.Variant.Value; v == "declare" || v == "typeset" || v == "nameref" {
			return bad(n.Pos(), v)
		}
	case *syntax.CoprocClause:
		return bad(n.Pos(), "coproc")
	case *syntax.TimeClause:
		return bad(n.Pos(), "time")
	case *syntax.ExtGlob:
		return bad(n.Pos(), "extended globs")
	}
	return nil
}

// instrumentNode prepares a node for bounded evaluation:
//   - every statement that expands something redirects its standard error
//     through a tick file, so the memory bound is checked before it runs;
//   - '{' in unquoted literals is quoted, because ash has no brace expansion.
//
// With p non-nil, function bodies are skipped and recorded in p, together
// with assignments. It returns the first construct busybox ash would not
// read the same way, if any.
func instrumentNode(node syntax.Node, p *parsed) *notAsh {
	// weights[i] counts the expansions of the i-th open statement; stack
	// holds the open nodes, so that a statement is closed when Walk calls
	// back with nil after its children.
	sp := walkStacks.Get().(*[]openNode)
	stack := (*sp)[:0]
	defer func() {
		clear(stack[:cap(stack)])
		*sp = stack[:0]
		walkStacks.Put(sp)
	}()
	var first *notAsh
	syntax.Walk(node, func(n syntax.Node) bool {
		if first != nil {
			return false
		}
		if n == nil {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			st, ok := top.node.(*syntax.Stmt)
			inLoop := false
			if ok && len(stack) > 0 {
				switch stack[len(stack)-1].node.(type) {
				case *syntax.WhileClause, *syntax.ForClause:
					// Every statement of a loop's condition and body
					// counts as a step, so that loops end by steps.
					inLoop = true
				}
			}
			if ok && (top.weight > 0 || top.quad || inLoop) {
				w := top.weight
				if top.quad {
					w = -1
				}
				redirs := make([]*syntax.Redirect, 0, len(st.Redirs)+1)
				st.Redirs = append(append(redirs, tickRedirect(w)), st.Redirs...)
			}
			return true
		}
		if bad := ashCheck(n); bad != nil {
			first = bad
			return false
		}
		// The innermost open statement gets the weight.
		stmt := -1
		for i := len(stack) - 1; i >= 0; i-- {
			if _, ok := stack[i].node.(*syntax.Stmt); ok {
				stmt = i
				break
			}
		}
		switch n := n.(type) {
		case *syntax.FuncDecl:
			if p != nil {
				if n.Name != nil {
					p.funcs[n.Name.Value] = append(p.funcs[n.Name.Value], n)
				}
				return false
			}
		case *syntax.Assign:
			if p != nil && n.Name != nil {
				p.assigns[n.Name.Value] = n
			}
		case *syntax.ParamExp:
			if stmt >= 0 {
				stack[stmt].weight++
				if n.Repl != nil && n.Repl.With != nil {
					for _, wp := range n.Repl.With.Parts {
						if _, ok := wp.(*syntax.Lit); !ok {
							stack[stmt].quad = true
						}
					}
					if n.Repl.All {
						stack[stmt].weight += len(n.Repl.With.Lit())
					}
				}
			}
		case *syntax.CmdSubst:
			if stmt >= 0 {
				stack[stmt].weight++
			}
		case *syntax.Word:
			quoteBraces(n)
		}
		stack = append(stack, openNode{node: n})
		return true
	})
	return first
}

// ticks caches the tick redirections of the usual weights; the
// interpreter only reads them, so statements can share them.
var ticks = sync.OnceValue(func() (t [64]*syntax.Redirect) {
	for w := range t {
		t[w] = newTickRedirect(w - 1)
	}
	return t
})

// tickRedirect returns the redirection "2>tickPrefix+w".
func tickRedirect(w int) *syntax.Redirect {
	if t := ticks(); w+1 >= 0 && w+1 < len(t) {
		return t[w+1]
	}
	return newTickRedirect(w)
}

func newTickRedirect(w int) *syntax.Redirect {
	return &syntax.Redirect{
		Op:   syntax.RdrOut,
		N:    &syntax.Lit{Value: "2"},
		Word: &syntax.Word{Parts: []syntax.WordPart{&syntax.Lit{Value: tickPrefix + strconv.Itoa(w)}}},
	}
}

// openNode is a node instrumentNode has entered and not yet left, with
// the expansions counted for it when it is a statement.
type openNode struct {
	node   syntax.Node
	weight int
	quad   bool
}

// walkStacks holds instrumentNode's stacks.
var walkStacks = sync.Pool{New: func() any {
	s := make([]openNode, 0, 32)
	return &s
}}

// quoteBraces rewrites unquoted '{' in a word's literal parts as a quoted
// '{', which disables brace expansion for that word while keeping its value.
func quoteBraces(w *syntax.Word) {
	need := false
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok && strings.Contains(l.Value, "{") {
			need = true
			break
		}
	}
	if !need {
		return
	}
	parts := make([]syntax.WordPart, 0, len(w.Parts)+2)
	for _, p := range w.Parts {
		l, ok := p.(*syntax.Lit)
		if !ok || !strings.Contains(l.Value, "{") {
			parts = append(parts, p)
			continue
		}
		rest := l.Value
		for {
			i := strings.IndexByte(rest, '{')
			if i < 0 {
				break
			}
			if i > 0 {
				parts = append(parts, &syntax.Lit{ValuePos: l.ValuePos, ValueEnd: l.ValueEnd, Value: rest[:i]})
			}
			parts = append(parts, &syntax.SglQuoted{Left: l.ValuePos, Right: l.ValuePos, Value: "{"})
			rest = rest[i+1:]
		}
		if rest != "" {
			parts = append(parts, &syntax.Lit{ValuePos: l.ValuePos, ValueEnd: l.ValueEnd, Value: rest})
		}
	}
	w.Parts = parts
}

// guard holds the bounds of one evaluation. Its methods run on the
// interpreter's goroutines (pipelines run concurrently).
type guard struct {
	filename string
	dir      string
	maxMem   int64
	maxSteps int64
	calls    atomic.Int64
	fcalls   atomic.Int64
	steps    atomic.Int64

	// funcs are the file's function declarations, instrumented on their
	// first call (under mu); done names those instrumented.
	funcs  map[string][]*syntax.FuncDecl
	done   map[string]bool
	cancel context.CancelFunc

	mu  sync.Mutex
	err error
}

// fail records the first fatal error and stops the evaluation.
func (g *guard) fail(err error) error {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.cancel()
	return err
}

func (g *guard) errAt(pos syntax.Pos, cause error, format string, args ...any) error {
	pe := &ParseError{File: g.filename, Msg: fmt.Sprintf(format, args...), Err: cause}
	if pos.IsValid() {
		pe.Line, pe.Col = int(pos.Line()), int(pos.Col())
	}
	return pe
}

// lenner is implemented by the buffers command substitutions write into.
type lenner interface{ Len() int }

// checkMemory fails when the variables plus weight copies of the largest
// one, or captured output, would pass the memory bound.
func (g *guard) checkMemory(hc interp.HandlerContext, weight int) error {
	var total, largest int64
	for name, v := range hc.Env.Each {
		n := int64(len(name))
		if v.Kind == expand.String {
			n += int64(len(v.Str))
			if int64(len(v.Str)) > largest {
				largest = int64(len(v.Str))
			}
		} else {
			for _, s := range v.List {
				n += int64(len(s))
			}
		}
		total += n
	}
	if l, ok := hc.Stdout.(lenner); ok {
		total += int64(l.Len())
	}
	need := total
	if weight < 0 {
		need += largest * largest
	} else {
		need += int64(weight) * largest
	}
	if total > g.maxMem || need > g.maxMem {
		return g.fail(g.errAt(hc.Pos, ErrLimit, "evaluation would use more than %d bytes of memory", g.maxMem))
	}
	return g.step(hc, stepCost(need-total))
}

// stepCost is the steps of a statement whose expansions may produce n
// bytes.
func stepCost(n int64) int64 { return 1 + n/stepBytes }

// step counts n steps and fails past the bound.
func (g *guard) step(hc interp.HandlerContext, n int64) error {
	if g.steps.Add(n) > g.maxSteps {
		return g.fail(g.errAt(hc.Pos, ErrLimit, "more than %d evaluation steps", g.maxSteps))
	}
	return nil
}

// call runs before every command: it bounds calls and printf widths and
// checks memory.
func (g *guard) call(ctx context.Context, args []string) ([]string, error) {
	hc := interp.HandlerCtx(ctx)
	if g.calls.Add(1) > maxCalls {
		return nil, g.fail(g.errAt(hc.Pos, ErrLimit, "more than %d command calls", maxCalls))
	}
	if _, ok := commands[args[0]]; !ok && !interp.IsBuiltin(args[0]) {
		if g.fcalls.Add(1) > maxFuncCalls {
			return nil, g.fail(g.errAt(hc.Pos, ErrLimit, "more than %d function calls", maxFuncCalls))
		}
		g.mu.Lock()
		var bad *notAsh
		if decls, ok := g.funcs[args[0]]; ok && !g.done[args[0]] {
			for _, fd := range decls {
				if b := instrumentNode(fd.Body, nil); b != nil && bad == nil {
					bad = b
				}
			}
			if g.done == nil {
				g.done = map[string]bool{}
			}
			g.done[args[0]] = true
		}
		g.mu.Unlock()
		if bad != nil {
			return nil, g.fail(bad.err(g.filename))
		}
	}
	if err := g.checkMemory(hc, len(args)); err != nil {
		return nil, err
	}
	switch args[0] {
	case "declare", "typeset", "shopt", "mapfile", "readarray", "compgen", "complete", "compopt", "caller", "disown", "dirs", "pushd", "popd", "enable", "builtin", "bind", "help", "logout", "suspend":
		return nil, g.fail(g.errAt(hc.Pos, ErrUnsupported, "%s is not a busybox ash builtin", args[0]))
	case "[", "test":
		// mvdan.cc/sh compares strings with < and > only inside [[ ]].
		a := args[1:]
		if args[0] == "[" && len(a) > 0 && a[len(a)-1] == "]" {
			a = a[:len(a)-1]
		}
		if len(a) == 3 && (a[1] == "<" || a[1] == ">") {
			if (a[1] == "<") == (a[0] < a[2]) && a[0] != a[2] {
				return []string{"true"}, nil
			}
			return []string{"false"}, nil
		}
	case "printf":
		if len(args) > 1 && hugeWidth(args[1:]) {
			return nil, g.fail(g.errAt(hc.Pos, ErrLimit, "printf field width above %d", maxWidth))
		}
		if len(args) > 1 && strings.Contains(args[1], "%q") {
			return nil, g.fail(g.errAt(hc.Pos, ErrUnsupported, "printf %%q is not supported by busybox ash"))
		}
	case "eval":
		src, err := g.instrumentEval(hc, strings.Join(args[1:], " "))
		if err != nil {
			return nil, err
		}
		return []string{"eval", src}, nil
	}
	return args, nil
}

// instrumentEval rewrites the text eval runs so that it gets the same per
// statement checks as the file itself: it is parsed, instrumented and
// printed back.
func (g *guard) instrumentEval(hc interp.HandlerContext, src string) (string, error) {
	f, err := newParser().Parse(strings.NewReader(src), "")
	if err != nil {
		return src, nil // eval reports the syntax error itself
	}
	if bad := instrument(f); bad != nil {
		return "", g.fail(g.errAt(hc.Pos, ErrUnsupported, "eval: %s", bad.msg()))
	}
	var b strings.Builder
	if err := syntax.NewPrinter().Print(&b, f); err != nil {
		return "", g.fail(g.errAt(hc.Pos, ErrUnsupported, "eval: %v", err))
	}
	return b.String(), nil
}

// hugeWidth reports whether a printf format or its arguments ask for a
// field wider than maxWidth.
func hugeWidth(args []string) bool {
	f := args[0]
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("-+ #0", f[j]) >= 0 {
			j++
		}
		start := j
		for j < len(f) && (f[j] >= '0' && f[j] <= '9' || f[j] == '.' || f[j] == '*') {
			if f[j] == '*' {
				return true // widths from arguments: refuse rather than guess
			}
			j++
		}
		for _, num := range strings.Split(f[start:j], ".") {
			if n, err := strconv.Atoi(num); err == nil && n > maxWidth || len(num) > 6 {
				return true
			}
		}
		i = j
	}
	return false
}

// open handles redirections: the tick files, /dev/null, and nothing else.
func (g *guard) open(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	if rest, ok := strings.CutPrefix(path, tickPrefix); ok {
		w, _ := strconv.Atoi(rest)
		if w == 0 {
			// A loop statement that expands nothing: one step.
			if err := g.step(hc, 1); err != nil {
				return nil, err
			}
		} else if err := g.checkMemory(hc, w); err != nil {
			return nil, err
		}
		return tickFile{hc.Stderr}, nil
	}
	if path == "/dev/null" {
		return nullFile{}, nil
	}
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		return nil, g.fail(g.errAt(hc.Pos, ErrUnsupported, "writing to %s is not allowed when evaluating shell", path))
	}
	return nil, g.fail(g.errAt(hc.Pos, ErrUnsupported, "reading %s is not allowed when evaluating shell", path))
}

// readDir serves globs, only inside the recipe directory. A directory on
// the way to it lists just the next directory of that way, so that globs
// with absolute paths ("$startdir"/*.patch) work without revealing the
// rest of the host.
func (g *guard) readDir(ctx context.Context, path string) ([]fs.DirEntry, error) {
	if within(g.dir, path) {
		return os.ReadDir(path)
	}
	if g.dir != "" && filepath.IsAbs(path) {
		rel, err := filepath.Rel(path, g.dir)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			next, _, _ := strings.Cut(rel, "/")
			return []fs.DirEntry{fs.FileInfoToDirEntry(dirInfo(next))}, nil
		}
	}
	return nil, fs.ErrPermission
}

// dirInfo is the fs.FileInfo of a directory known only by name.
type dirInfo string

func (d dirInfo) Name() string       { return string(d) }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (d dirInfo) ModTime() time.Time { return time.Time{} }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }

// stat serves test operators such as [ -e file ], only inside the recipe
// directory; elsewhere nothing exists.
func (g *guard) stat(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
	if !within(g.dir, name) {
		return nil, fs.ErrNotExist
	}
	if follow {
		return os.Stat(name)
	}
	return os.Lstat(name)
}

func within(dir, path string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

type tickFile struct{ w io.Writer }

func (t tickFile) Read([]byte) (int, error)    { return 0, io.EOF }
func (t tickFile) Write(p []byte) (int, error) { return t.w.Write(p) }
func (t tickFile) Close() error                { return nil }

type nullFile struct{}

func (nullFile) Read([]byte) (int, error)    { return 0, io.EOF }
func (nullFile) Write(p []byte) (int, error) { return len(p), nil }
func (nullFile) Close() error                { return nil }

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) reset() {
	b.mu.Lock()
	b.buf.Reset()
	b.mu.Unlock()
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// evaluator is an interpreter with its handlers, pooled between
// evaluations. Its handlers call whatever guard is current.
type evaluator struct {
	r      *interp.Runner
	g      *guard
	stdout limitedBuffer
	stderr limitedBuffer
}

var evaluatorPool = sync.Pool{New: func() any {
	e := &evaluator{}
	e.stderr.max = 64 << 10
	r, err := interp.New(
		interp.Env(expand.ListEnviron()),
		interp.StdIO(nil, &e.stdout, &e.stderr),
		interp.Params("-e"),
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) { return e.g.call(ctx, args) }),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
			return func(ctx context.Context, args []string) error { return e.g.exec(ctx, args) }
		}),
		interp.OpenHandler(func(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
			return e.g.open(ctx, path, flag, perm)
		}),
		interp.ReadDirHandler2(func(ctx context.Context, path string) ([]fs.DirEntry, error) { return e.g.readDir(ctx, path) }),
		interp.StatHandler(func(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
			return e.g.stat(ctx, name, follow)
		}),
	)
	if err != nil {
		panic("apkbuild: interpreter: " + err.Error())
	}
	r.Dir = "/"
	e.r = r
	return e
}}

// setPWD is run first: like abuild, the file is read from its directory
// (the runner's Dir is set directly, which costs no system call).
var setPWD = sync.OnceValue(func() *syntax.Stmt {
	f, err := newParser().Parse(strings.NewReader(`PWD=$startdir`), "")
	if err != nil {
		panic(err)
	}
	return f.Stmts[0]
})

// startEnviron is the environment a file starts with, all exported: a
// map for lookups and the same pairs in a slice, which is cheaper to walk
// (the memory check walks the environment before every statement).
type startEnviron struct {
	m     map[string]string
	names []string
	vals  []string
}

func newStartEnviron(m map[string]string, extra [][2]string) *startEnviron {
	e := &startEnviron{m: m, names: make([]string, 0, len(m)+len(extra)), vals: make([]string, 0, len(m)+len(extra))}
	for k, v := range m {
		e.names = append(e.names, k)
		e.vals = append(e.vals, v)
	}
	for _, kv := range extra {
		if _, ok := m[kv[0]]; !ok {
			e.names = append(e.names, kv[0])
			e.vals = append(e.vals, kv[1])
		}
	}
	return e
}

func (e *startEnviron) Get(name string) expand.Variable {
	v, ok := e.m[name]
	if !ok {
		i := slices.Index(e.names[len(e.m):], name)
		if i < 0 {
			return expand.Variable{}
		}
		v = e.vals[len(e.m)+i]
	}
	return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: v}
}

func (e *startEnviron) Each(f func(name string, vr expand.Variable) bool) {
	for i, name := range e.names {
		if !f(name, expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: e.vals[i]}) {
			return
		}
	}
}

// ids are the UID, EUID and GID the interpreter defines, read once.
var ids = sync.OnceValue(func() [3]string {
	return [3]string{strconv.Itoa(os.Getuid()), strconv.Itoa(os.Geteuid()), strconv.Itoa(os.Getgid())}
})

// panicError is a panic of the interpreter, recovered.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("interpreter failure: %v", p.v) }

// runGuarded runs f (after entering startdir when enter is set), turning
// a panic into an error.
func runGuarded(ctx context.Context, r *interp.Runner, enter bool, f *syntax.File) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{v}
		}
	}()
	if enter {
		// One run of setPWD followed by the file's statements.
		stmts := make([]*syntax.Stmt, 0, len(f.Stmts)+1)
		f = &syntax.File{Name: f.Name, Stmts: append(append(stmts, setPWD()), f.Stmts...), Last: f.Last}
	}
	return r.Run(ctx, f)
}

// run evaluates a parsed file.
func (e *shellEval) run(ctx context.Context, p *parsed) (*evalResult, error) {
	f := p.file
	timeout := e.timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxMem := e.maxMem
	if maxMem <= 0 {
		maxMem = DefaultMaxMemory
	}
	maxSteps := e.maxSteps
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	// One deadline for both ways: the time fastEval spent before
	// declining counts. The clock starts here, when this evaluation
	// starts, not when its caller queued it.
	deadline := time.Now().Add(timeout)
	if !e.interpOnly && ctx.Err() == nil {
		if vars, funcs, ok := e.fastEval(ctx, deadline, p, maxMem, maxSteps); ok {
			return &evalResult{file: f, vars: vars, funcs: funcs}, nil
		}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	g := &guard{filename: e.filename, dir: e.dir, maxMem: maxMem, maxSteps: maxSteps, cancel: cancel, funcs: p.funcs}
	ev := evaluatorPool.Get().(*evaluator)
	ev.g = g
	ev.stderr.reset()
	ev.stdout.reset()
	r := ev.r
	id := ids()
	r.Env = newStartEnviron(e.env, [][2]string{{"UID", id[0]}, {"EUID", id[1]}, {"GID", id[2]}})
	r.Reset()
	if e.preamble {
		if pre := preambleFuncs(); len(p.funcs) <= preambleRoom {
			r.Funcs = maps.Clone(pre) // keeps its room for the file's functions
		} else {
			r.Funcs = make(map[string]*syntax.Stmt, len(pre)+len(p.funcs))
			maps.Copy(r.Funcs, pre)
		}
		r.Dir = e.dir
	}
	runErr := runGuarded(ctx, r, e.preamble, f)
	if _, ok := runErr.(panicError); ok {
		// The interpreter is in an unknown state: do not pool it.
		return nil, &ParseError{File: e.filename, Msg: runErr.Error(), Err: ErrUnsupported}
	}
	stderr := ev.stderr.String()
	var vars map[string]string
	var funcs map[string]*syntax.Stmt
	if runErr == nil {
		vars = make(map[string]string, len(r.Vars))
		for name, v := range r.Vars {
			if v.IsSet() {
				vars[name] = v.String()
			}
		}
		funcs = r.Funcs // Reset forgets it
	}
	// Drop references to this evaluation before pooling the interpreter
	// (the next Reset forgets the rest).
	clear(r.Vars)
	r.Funcs = nil
	ev.g = nil
	evaluatorPool.Put(ev)

	g.mu.Lock()
	gerr := g.err
	g.mu.Unlock()
	switch {
	case gerr != nil:
		return nil, gerr
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, &ParseError{File: e.filename, Msg: fmt.Sprintf("evaluation took longer than %s", timeout), Err: ErrLimit}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case runErr != nil:
		var es interp.ExitStatus
		if errors.As(runErr, &es) {
			msg := fmt.Sprintf("top level exited with status %d", uint8(es))
			if s := lastLine(stderr); s != "" {
				msg += ": " + s
			}
			return nil, &ParseError{File: e.filename, Msg: msg, Err: ErrInvalid}
		}
		return nil, &ParseError{File: e.filename, Msg: runErr.Error(), Err: runErr}
	}
	return &evalResult{file: f, vars: vars, funcs: funcs, stderr: stderr}, nil
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// EvalShellFile evaluates a shell configuration file such as abuild.conf
// with the given environment and returns every variable it leaves set
// (those of env included). Like recipes, the file runs no host program.
func EvalShellFile(path string, env map[string]string) (map[string]string, error) {
	src, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	p, err := parseShell(src, path)
	if err != nil {
		return nil, err
	}
	e := &shellEval{filename: path, dir: filepath.Dir(path), env: env}
	res, err := e.run(context.Background(), p)
	if err != nil {
		return nil, err
	}
	return res.vars, nil
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}
