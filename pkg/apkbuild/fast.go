package apkbuild

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/pattern"
	"mvdan.cc/sh/v3/syntax"
)

// Most recipes are nothing but assignments (some exported), case
// statements on $CARCH and the like, for loops over words, and function
// definitions. Such a file is evaluated here without the interpreter:
// words are expanded by the same expand package the interpreter uses, and
// the memory check before each statement is the interpreter's. Anything
// else (a command, an if or while, a command substitution, a special
// parameter, a glob, ...) and any expansion error make fastEval decline;
// the interpreter then evaluates the file from the start, so the result
// never depends on which way it ran.

// fastUnsafeNames are names whose expansion or assignment the interpreter
// treats specially.
var fastUnsafeNames = map[string]bool{
	"PPID": true, "RANDOM": true, "SRANDOM": true, "DIRSTACK": true, "LINENO": true,
}

// errFastDecline stops fastEval.
var errFastDecline = errors.New("needs the interpreter")

// fastEnv holds the variables of a fast evaluation: the starting
// environment (env and the ids) and what the file set, with the sizes
// the memory check counts (both are counted when a file variable shadows
// one of the environment, as the interpreter's check does).
type fastEnv struct {
	env     map[string]string
	ids     [3]string // UID, EUID, GID unless env has them
	set     map[string]string
	total   int64
	largest int64 // an upper bound: values may shrink
}

// idNames are the names of fastEnv.ids.
var idNames = [3]string{"UID", "EUID", "GID"}

func (f *fastEnv) assign(name, val string) {
	if old, ok := f.set[name]; ok {
		f.total -= int64(len(old))
	} else {
		f.total += int64(len(name))
	}
	f.total += int64(len(val))
	f.largest = max(f.largest, int64(len(val)))
	f.set[name] = val
}

func (f *fastEnv) Get(name string) expand.Variable {
	if v, ok := f.set[name]; ok {
		return expand.Variable{Set: true, Kind: expand.String, Str: v}
	}
	if v, ok := f.env[name]; ok {
		return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: v}
	}
	for i, n := range idNames {
		if n == name && f.ids[i] != "" {
			return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: f.ids[i]}
		}
	}
	return expand.Variable{}
}

func (f *fastEnv) Set(name string, vr expand.Variable) error {
	if vr.Kind != expand.String || !vr.IsSet() || fastUnsafeNames[name] {
		return errFastDecline
	}
	f.assign(name, vr.Str)
	return nil
}

// eachStart calls fn for every variable of the starting environment.
func (f *fastEnv) eachStart(fn func(name, val string)) {
	for name, v := range f.env {
		fn(name, v)
	}
	for i, name := range idNames {
		if f.ids[i] != "" {
			fn(name, f.ids[i])
		}
	}
}

func (f *fastEnv) Each(fn func(name string, vr expand.Variable) bool) {
	stop := false
	f.eachStart(func(name, val string) {
		if !stop && !fn(name, expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: val}) {
			stop = true
		}
	})
	for name, v := range f.set {
		if stop || !fn(name, expand.Variable{Set: true, Kind: expand.String, Str: v}) {
			return
		}
	}
}

// fastRun is one fast evaluation.
type fastRun struct {
	// globbed is set when an expansion wanted to read a directory.
	globbed  bool
	ctx      context.Context
	deadline time.Time
	env      *fastEnv
	cfg      *expand.Config
	funcs    map[string]*syntax.Stmt
	maxMem   int64
	maxSteps int64
	steps    int64
}

// fastEval evaluates p as the interpreter would after the helper
// functions are defined and PWD is set, or reports false.
func (e *shellEval) fastEval(ctx context.Context, deadline time.Time, p *parsed, maxMem, maxSteps int64) (vars map[string]string, funcs map[string]*syntax.Stmt, ok bool) {
	if !e.preamble || !fastStmts(p.file.Stmts) {
		return nil, nil, false
	}
	env := &fastEnv{env: e.env, ids: ids(), set: make(map[string]string, len(p.assigns)+3)}
	for i, name := range idNames {
		if _, ok := e.env[name]; ok {
			env.ids[i] = ""
		}
	}
	env.eachStart(func(name, val string) {
		env.total += int64(len(name) + len(val))
		env.largest = max(env.largest, int64(len(val)))
	})
	// As the interpreter's Reset and setPWD leave them.
	env.assign("PWD", "/")
	env.assign("IFS", " \t\n")
	env.assign("OPTIND", "1")
	env.assign("PWD", env.Get("startdir").Str)

	// Only the file's functions: the helpers are not looked at again.
	fr := &fastRun{ctx: ctx, deadline: deadline, env: env, funcs: make(map[string]*syntax.Stmt, len(p.funcs)), maxMem: maxMem, maxSteps: maxSteps}
	fr.cfg = &expand.Config{Env: env, ReadDir2: func(string) ([]fs.DirEntry, error) {
		fr.globbed = true
		return nil, errFastDecline
	}}
	if fr.stmts(p.file.Stmts) != nil {
		return nil, nil, false
	}
	vars = make(map[string]string, len(e.env)+3+len(env.set))
	env.eachStart(func(name, val string) { vars[name] = val })
	maps.Copy(vars, env.set)
	return vars, fr.funcs, true
}

func (fr *fastRun) stmts(list []*syntax.Stmt) error {
	for _, st := range list {
		if err := fr.stmt(st); err != nil {
			return err
		}
	}
	return nil
}

func (fr *fastRun) stmt(st *syntax.Stmt) error {
	if fr.ctx.Err() != nil || time.Now().After(fr.deadline) {
		return errFastDecline // the interpreter reports it
	}
	if len(st.Redirs) == 1 {
		// The interpreter's tick: the memory check before the statement.
		w, _ := tickWeight(st.Redirs[0])
		need := fr.env.total
		if w < 0 {
			need += fr.env.largest * fr.env.largest
		} else {
			need += int64(w) * fr.env.largest
		}
		if fr.env.total > fr.maxMem || need > fr.maxMem {
			return errFastDecline // the interpreter reports it
		}
		// The interpreter's steps, counted the same way.
		if w == 0 {
			fr.steps++
		} else {
			fr.steps += stepCost(need - fr.env.total)
		}
		if fr.steps > fr.maxSteps {
			return errFastDecline // the interpreter reports it
		}
	}
	switch cm := st.Cmd.(type) {
	case *syntax.FuncDecl:
		fr.funcs[cm.Name.Value] = cm.Body
	case *syntax.CallExpr:
		for _, as := range cm.Assigns {
			val, err := fr.literal(as.Value)
			if err != nil {
				return err
			}
			fr.env.assign(as.Name.Value, val)
		}
	case *syntax.DeclClause: // export, as fastStmts checked
		for _, as := range cm.Args {
			name := as.Name.Value
			if as.Naked {
				// The interpreter copies the variable into its overlay,
				// or declares it when it is unset: that is not modelled.
				vr := fr.env.Get(name)
				if !vr.IsSet() {
					return errFastDecline
				}
				if _, ok := fr.env.set[name]; !ok {
					fr.env.assign(name, vr.Str)
				}
				continue
			}
			val, err := fr.literal(as.Value)
			if err != nil {
				return err
			}
			fr.env.assign(name, val)
		}
	case *syntax.ForClause: // for name in words, as fastStmts checked
		wi := cm.Loop.(*syntax.WordIter)
		fr.globbed = false
		items, err := expand.Fields(fr.cfg, wi.Items...)
		if err != nil || fr.globbed {
			return errFastDecline // globbing reads the recipe directory
		}
		for _, field := range items {
			fr.env.assign(wi.Name.Value, field)
			if err := fr.stmts(cm.Do); err != nil {
				return err
			}
		}
	case *syntax.CaseClause:
		str, err := fr.literal(cm.Word)
		if err != nil {
			return err
		}
		for _, ci := range cm.Items {
			for _, word := range ci.Patterns {
				if lit, ok := plainPattern(word); ok {
					// No pattern characters: the pattern matches itself only.
					if lit == str {
						return fr.stmts(ci.Stmts)
					}
					continue
				}
				pat, err := expand.Pattern(fr.cfg, word)
				if err != nil {
					return errFastDecline
				}
				rx, err := casePattern(pat)
				if err != nil {
					return errFastDecline
				}
				if rx.MatchString(str) {
					return fr.stmts(ci.Stmts)
				}
			}
		}
	default:
		return errFastDecline
	}
	return nil
}

// literal expands an assignment value as the interpreter does; nil is "".
func (fr *fastRun) literal(w *syntax.Word) (string, error) {
	if w == nil {
		return "", nil
	}
	if s, ok := fr.plainLiteral(w); ok {
		return s, nil
	}
	s, err := expand.Literal(fr.cfg, w)
	if err != nil {
		return "", errFastDecline
	}
	return s, nil
}

// plainLiteral expands the commonest values (text without escapes or
// tildes, quoted or not, and plain $name expansions) without going through
// expand.Literal, which gives the same string for them.
func (fr *fastRun) plainLiteral(w *syntax.Word) (string, bool) {
	if len(w.Parts) == 1 {
		if s, ok := fr.plainPart(w.Parts[0]); ok {
			return s, true
		}
	}
	var sb strings.Builder
	for _, wp := range w.Parts {
		s, ok := fr.plainPart(wp)
		if !ok {
			return "", false
		}
		sb.WriteString(s)
	}
	return sb.String(), true
}

func (fr *fastRun) plainPart(wp syntax.WordPart) (string, bool) {
	switch wp := wp.(type) {
	case *syntax.Lit:
		if strings.ContainsAny(wp.Value, "\\~") {
			return "", false
		}
		return wp.Value, true
	case *syntax.SglQuoted:
		if wp.Dollar {
			return "", false
		}
		return wp.Value, true
	case *syntax.ParamExp:
		if !plainParam(wp) {
			return "", false
		}
		return fr.env.Get(wp.Param.Value).Str, true
	case *syntax.DblQuoted:
		if wp.Dollar {
			return "", false
		}
		if len(wp.Parts) == 0 {
			return "", true
		}
		if len(wp.Parts) == 1 {
			switch q := wp.Parts[0].(type) {
			case *syntax.Lit:
				if !strings.Contains(q.Value, "\\") {
					return q.Value, true
				}
			case *syntax.ParamExp:
				if plainParam(q) {
					return fr.env.Get(q.Param.Value).Str, true
				}
			}
			return "", false
		}
		var sb strings.Builder
		for _, q := range wp.Parts {
			switch q := q.(type) {
			case *syntax.Lit:
				if strings.Contains(q.Value, "\\") {
					return "", false
				}
				sb.WriteString(q.Value)
			case *syntax.ParamExp:
				if !plainParam(q) {
					return "", false
				}
				sb.WriteString(fr.env.Get(q.Param.Value).Str)
			default:
				return "", false
			}
		}
		return sb.String(), true
	}
	return "", false
}

// plainParam reports whether pe is $name or ${name} of an ordinary
// variable.
func plainParam(pe *syntax.ParamExp) bool {
	return fastParam(pe) && !pe.Length && pe.Slice == nil && pe.Repl == nil && pe.Exp == nil
}

// plainPattern returns the text of a case pattern that is a single
// unquoted word of letters, digits, '.', '_' and '-', such as x86_64.
func plainPattern(w *syntax.Word) (string, bool) {
	if len(w.Parts) != 1 {
		return "", false
	}
	l, ok := w.Parts[0].(*syntax.Lit)
	if !ok || l.Value == "" {
		return "", false
	}
	for i := 0; i < len(l.Value); i++ {
		c := l.Value[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return "", false
		}
	}
	return l.Value, true
}

// casePattern compiles a case pattern as the interpreter does.
func casePattern(pat string) (*regexp.Regexp, error) {
	expr, err := pattern.Regexp(pat, pattern.EntireString|pattern.ExtendedOperators)
	if err != nil {
		return nil, err
	}
	return regexp.Compile(expr)
}

// tickWeight returns the weight of a tick redirection, or false when rd
// is another redirection.
func tickWeight(rd *syntax.Redirect) (int, bool) {
	if rd.Op != syntax.RdrOut || rd.N == nil || rd.N.Value != "2" || rd.Word == nil || len(rd.Word.Parts) != 1 {
		return 0, false
	}
	l, ok := rd.Word.Parts[0].(*syntax.Lit)
	if !ok {
		return 0, false
	}
	rest, ok := strings.CutPrefix(l.Value, tickPrefix)
	if !ok {
		return 0, false
	}
	w, err := strconv.Atoi(rest)
	return w, err == nil
}

// fastStmts reports whether fastEval can evaluate every statement of list
// (it may still decline while evaluating).
func fastStmts(list []*syntax.Stmt) bool {
	for _, st := range list {
		if st.Negated || st.Background || st.Coprocess || st.Disown || len(st.Redirs) > 1 {
			return false
		}
		if len(st.Redirs) == 1 {
			if _, ok := tickWeight(st.Redirs[0]); !ok {
				return false
			}
		}
		switch cm := st.Cmd.(type) {
		case *syntax.FuncDecl:
			if cm.Name == nil {
				return false
			}
		case *syntax.CallExpr:
			if len(cm.Args) > 0 || len(cm.Assigns) == 0 {
				return false
			}
			for _, as := range cm.Assigns {
				if as.Append || as.Naked || as.Index != nil || as.Array != nil || as.Name == nil || fastUnsafeNames[as.Name.Value] {
					return false
				}
				if as.Value != nil && !fastWord(as.Value, false) {
					return false
				}
			}
		case *syntax.DeclClause:
			if cm.Variant == nil || cm.Variant.Value != "export" || len(cm.Args) == 0 {
				return false
			}
			for _, as := range cm.Args {
				if as.Name == nil || !validIdent(as.Name.Value) || fastUnsafeNames[as.Name.Value] ||
					as.Append || as.Index != nil || as.Array != nil {
					return false
				}
				if as.Value != nil && !fastWord(as.Value, false) {
					return false
				}
			}
		case *syntax.ForClause:
			wi, ok := cm.Loop.(*syntax.WordIter)
			if !ok || cm.Select || !wi.InPos.IsValid() || wi.Name == nil || !validIdent(wi.Name.Value) || fastUnsafeNames[wi.Name.Value] {
				return false
			}
			for _, w := range wi.Items {
				if !fastWord(w, false) {
					return false
				}
			}
			if !fastStmts(cm.Do) {
				return false
			}
		case *syntax.CaseClause:
			if !fastWord(cm.Word, false) {
				return false
			}
			for _, ci := range cm.Items {
				if ci.Op != syntax.Break {
					return false
				}
				for _, w := range ci.Patterns {
					if !fastWord(w, false) {
						return false
					}
				}
				if !fastStmts(ci.Stmts) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// fastWord reports whether expanding w needs nothing but variables: no
// command or process substitution, no special parameter, no tilde.
func fastWord(w *syntax.Word, quoted bool) bool {
	if w == nil {
		return true
	}
	for _, wp := range w.Parts {
		if !fastPart(wp, quoted) {
			return false
		}
	}
	return true
}

func fastPart(wp syntax.WordPart, quoted bool) bool {
	switch wp := wp.(type) {
	case *syntax.Lit:
		return quoted || !strings.Contains(wp.Value, "~")
	case *syntax.SglQuoted:
		return !wp.Dollar
	case *syntax.DblQuoted:
		if wp.Dollar {
			return false
		}
		for _, q := range wp.Parts {
			if !fastPart(q, true) {
				return false
			}
		}
		return true
	case *syntax.ParamExp:
		return fastParam(wp)
	case *syntax.ArithmExp:
		return fastArithm(wp.X)
	}
	return false
}

// fastParam reports whether pe expands an ordinary variable with
// operators that need no more than variables.
func fastParam(pe *syntax.ParamExp) bool {
	if pe.Excl || pe.Width || pe.IsSet || pe.Index != nil || pe.Names != 0 || pe.Flags != nil ||
		pe.NestedParam != nil || pe.Split != 0 || pe.GlobSubst != 0 || pe.RcExpand != 0 || pe.Param == nil {
		return false
	}
	if !validIdent(pe.Param.Value) || fastUnsafeNames[pe.Param.Value] {
		return false
	}
	if pe.Slice != nil && (!fastArithm(pe.Slice.Offset) || !fastArithm(pe.Slice.Length)) {
		return false
	}
	if pe.Repl != nil && (!fastWord(pe.Repl.Orig, false) || !fastWord(pe.Repl.With, false)) {
		return false
	}
	if pe.Exp != nil && !fastWord(pe.Exp.Word, false) {
		return false
	}
	return true
}

// fastArithm reports whether an arithmetic expression reads only ordinary
// variables and numbers.
func fastArithm(x syntax.ArithmExpr) bool {
	switch x := x.(type) {
	case nil:
		return true
	case *syntax.BinaryArithm:
		return fastArithm(x.X) && fastArithm(x.Y)
	case *syntax.UnaryArithm:
		return fastArithm(x.X)
	case *syntax.ParenArithm:
		return fastArithm(x.X)
	case *syntax.Word:
		for _, wp := range x.Parts {
			switch wp := wp.(type) {
			case *syntax.Lit:
				v := wp.Value
				if !validIdent(v) && strings.Trim(v, "0123456789") != "" || fastUnsafeNames[v] {
					return false
				}
			case *syntax.ParamExp:
				if !fastParam(wp) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	return false
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
