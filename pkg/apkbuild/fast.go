package apkbuild

import (
	"maps"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Most recipes are nothing but assignments of literals and plain $name
// expansions, and function definitions. Such a file is evaluated here
// without the interpreter, to the same variables and functions, and with
// the same memory check before each statement. Anything else, and any
// doubt, makes fastEval decline; the interpreter then evaluates the file
// from the start, so the result never depends on which path ran.

// fastUnsafeNames are names whose expansion or assignment the interpreter
// treats specially.
var fastUnsafeNames = map[string]bool{
	"PPID": true, "RANDOM": true, "SRANDOM": true, "DIRSTACK": true, "LINENO": true,
}

// fastEval evaluates p as the interpreter would after the helper
// functions are defined and PWD is set, or reports false.
func (e *shellEval) fastEval(p *parsed, maxMem int64) (vars map[string]string, funcs map[string]*syntax.Stmt, ok bool) {
	if !e.preamble || !fastFile(p.file) {
		return nil, nil, false
	}
	id := ids()
	parent := newStartEnviron(e.env, [][2]string{{"UID", id[0]}, {"EUID", id[1]}, {"GID", id[2]}})
	// What the memory check counts: every variable of the starting
	// environment, then every variable the file set (both counted when a
	// file variable shadows one of the environment), and the largest value.
	var total, largest int64
	for i, name := range parent.names {
		total += int64(len(name) + len(parent.vals[i]))
		largest = max(largest, int64(len(parent.vals[i])))
	}
	set := make(map[string]string, len(p.assigns)+3)
	assign := func(name, val string) {
		if old, ok := set[name]; ok {
			total -= int64(len(old))
		} else {
			total += int64(len(name))
		}
		total += int64(len(val))
		largest = max(largest, int64(len(val))) // an upper bound: values may shrink
		set[name] = val
	}
	get := func(name string) string {
		if v, ok := set[name]; ok {
			return v
		}
		return parent.Get(name).Str
	}
	// As the interpreter's Reset and setPWD leave them.
	assign("PWD", "/")
	assign("IFS", " \t\n")
	assign("OPTIND", "1")
	assign("PWD", get("startdir"))

	funcs = maps.Clone(preambleFuncs())
	var sb strings.Builder
	for _, st := range p.file.Stmts {
		if len(st.Redirs) == 1 {
			w, _ := tickWeight(st.Redirs[0])
			need := total
			if w < 0 {
				need += largest * largest
			} else {
				need += int64(w) * largest
			}
			if total > maxMem || need > maxMem {
				return nil, nil, false // the interpreter reports it
			}
		}
		switch cm := st.Cmd.(type) {
		case *syntax.FuncDecl:
			funcs[cm.Name.Value] = cm.Body
		case *syntax.CallExpr:
			for _, as := range cm.Assigns {
				sb.Reset()
				if as.Value != nil {
					for _, wp := range as.Value.Parts {
						switch wp := wp.(type) {
						case *syntax.Lit:
							sb.WriteString(wp.Value)
						case *syntax.SglQuoted:
							sb.WriteString(wp.Value)
						case *syntax.ParamExp:
							sb.WriteString(get(wp.Param.Value))
						case *syntax.DblQuoted:
							for _, q := range wp.Parts {
								switch q := q.(type) {
								case *syntax.Lit:
									sb.WriteString(q.Value)
								case *syntax.ParamExp:
									sb.WriteString(get(q.Param.Value))
								}
							}
						}
					}
				}
				assign(as.Name.Value, sb.String())
			}
		}
	}
	vars = make(map[string]string, len(parent.names)+len(set))
	for i, name := range parent.names {
		vars[name] = parent.vals[i]
	}
	maps.Copy(vars, set)
	return vars, funcs, true
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

// fastFile reports whether fastEval can evaluate every statement of f.
func fastFile(f *syntax.File) bool {
	for _, st := range f.Stmts {
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
				if as.Value != nil && !fastWord(as.Value) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// fastWord reports whether fastEval can expand w as an assignment value.
func fastWord(w *syntax.Word) bool {
	for _, wp := range w.Parts {
		switch wp := wp.(type) {
		case *syntax.Lit:
			// Escapes and tilde expansion are the interpreter's.
			if strings.ContainsAny(wp.Value, "\\~") {
				return false
			}
		case *syntax.SglQuoted:
			if wp.Dollar {
				return false
			}
		case *syntax.ParamExp:
			if !fastParam(wp) {
				return false
			}
		case *syntax.DblQuoted:
			if wp.Dollar {
				return false
			}
			for _, q := range wp.Parts {
				switch q := q.(type) {
				case *syntax.Lit:
					if strings.Contains(q.Value, "\\") {
						return false
					}
				case *syntax.ParamExp:
					if !fastParam(q) {
						return false
					}
				default:
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// fastParam reports whether pe is a plain $name or ${name} of an ordinary
// variable.
func fastParam(pe *syntax.ParamExp) bool {
	if pe.Excl || pe.Length || pe.Width || pe.IsSet || pe.Index != nil || pe.Slice != nil ||
		pe.Repl != nil || pe.Names != 0 || pe.Exp != nil || pe.Flags != nil || pe.NestedParam != nil ||
		pe.Split != 0 || pe.GlobSubst != 0 || pe.RcExpand != 0 || pe.Param == nil {
		return false
	}
	return validIdent(pe.Param.Value) && !fastUnsafeNames[pe.Param.Value]
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
