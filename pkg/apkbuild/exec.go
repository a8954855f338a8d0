package apkbuild

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/interp"
)

// command is a Go implementation of a program recipes use in command
// substitutions. It reads hc.Stdin, writes hc.Stdout and returns an
// interp.ExitStatus for a failure the program itself would report.
type command func(hc interp.HandlerContext, args []string) error

// commands lists the programs evaluation provides; every other program is
// an error, since running host programs is not allowed.
var commands map[string]command

func init() {
	commands = map[string]command{
		"basename": cmdBasename,
		"dirname":  cmdDirname,
		"cut":      cmdCut,
		"tr":       cmdTr,
		"uname":    cmdUname,
		"nproc":    cmdNproc,
		"cat":      cmdCat,
		"head":     cmdHead,
		"tail":     cmdTail,
		"sort":     cmdSort,
		"seq":      cmdSeq,
		"expr":     cmdExpr,
		"wc":       cmdWc,
	}
}

// exec runs a program that is not a shell builtin or function.
func (g *guard) exec(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	name := args[0]
	if c, ok := commands[name]; ok {
		return c(hc, args[1:])
	}
	return g.fail(g.errAt(hc.Pos, ErrUnsupported, "running %q is not supported: evaluation runs no host programs", name))
}

// maxInput bounds what a Go command reads from its standard input.
const maxInput = 16 << 20

func readInput(hc interp.HandlerContext) string {
	if hc.Stdin == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(hc.Stdin, maxInput))
	return string(b)
}

// lines splits text into lines without their newlines.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}

func failf(hc interp.HandlerContext, format string, args ...any) error {
	fmt.Fprintf(hc.Stderr, format+"\n", args...)
	return interp.ExitStatus(1)
}

func cmdBasename(hc interp.HandlerContext, args []string) error {
	if len(args) == 0 || len(args) > 2 {
		return failf(hc, "basename: bad arguments")
	}
	s := strings.TrimRight(args[0], "/")
	if s == "" && args[0] != "" {
		s = "/"
	} else if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if len(args) == 2 && s != args[1] {
		s = strings.TrimSuffix(s, args[1])
	}
	fmt.Fprintln(hc.Stdout, s)
	return nil
}

func cmdDirname(hc interp.HandlerContext, args []string) error {
	if len(args) != 1 {
		return failf(hc, "dirname: bad arguments")
	}
	s := strings.TrimRight(args[0], "/")
	i := strings.LastIndexByte(s, '/')
	switch {
	case args[0] != "" && s == "":
		s = "/"
	case i < 0:
		s = "."
	default:
		s = strings.TrimRight(s[:i], "/")
		if s == "" {
			s = "/"
		}
	}
	fmt.Fprintln(hc.Stdout, s)
	return nil
}

// cutRanges parses a cut list such as "1,3-4,6-".
func cutRanges(list string) ([][2]int, error) {
	var rs [][2]int
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		var a, b int
		var err error
		if lo == "" {
			a = 1
		} else if a, err = strconv.Atoi(lo); err != nil || a < 1 {
			return nil, fmt.Errorf("invalid list %q", list)
		}
		switch {
		case !isRange:
			b = a
		case hi == "":
			b = int(^uint(0) >> 1)
		default:
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("invalid list %q", list)
			}
		}
		rs = append(rs, [2]int{a, b})
	}
	return rs, nil
}

func inRanges(rs [][2]int, i int) bool {
	for _, r := range rs {
		if i >= r[0] && i <= r[1] {
			return true
		}
	}
	return false
}

func cmdCut(hc interp.HandlerContext, args []string) error {
	delim, list, mode := "\t", "", byte(0)
	onlyDelimited := false
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func(flag string) (string, bool) {
			if len(a) > len(flag) {
				return a[len(flag):], true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		var ok bool
		switch {
		case strings.HasPrefix(a, "-d"):
			if delim, ok = val("-d"); !ok || len(delim) != 1 {
				return failf(hc, "cut: the delimiter must be a single character")
			}
		case strings.HasPrefix(a, "-f"), strings.HasPrefix(a, "-c"), strings.HasPrefix(a, "-b"):
			mode = a[1]
			if list, ok = val(a[:2]); !ok {
				return failf(hc, "cut: option requires an argument")
			}
		case a == "-s":
			onlyDelimited = true
		case a == "-":
			files = append(files, a)
		case strings.HasPrefix(a, "-"):
			return failf(hc, "cut: unknown option %s", a)
		default:
			files = append(files, a)
		}
	}
	if len(files) > 0 {
		return failf(hc, "cut: reading files is not supported")
	}
	rs, err := cutRanges(list)
	if mode == 0 || err != nil {
		return failf(hc, "cut: bad list")
	}
	w := bufio.NewWriter(hc.Stdout)
	defer w.Flush()
	for _, line := range lines(readInput(hc)) {
		if mode != 'f' {
			var out []byte
			for i := 0; i < len(line); i++ {
				if inRanges(rs, i+1) {
					out = append(out, line[i])
				}
			}
			w.Write(out)
			w.WriteByte('\n')
			continue
		}
		if !strings.Contains(line, delim) {
			if !onlyDelimited {
				w.WriteString(line)
				w.WriteByte('\n')
			}
			continue
		}
		fields := strings.Split(line, delim)
		var out []string
		for i, f := range fields {
			if inRanges(rs, i+1) {
				out = append(out, f)
			}
		}
		w.WriteString(strings.Join(out, delim))
		w.WriteByte('\n')
	}
	return nil
}

// trSet expands a tr set: ranges a-z, escapes and the classes busybox
// knows.
func trSet(s string) []byte {
	var out []byte
	classes := map[string]string{
		"[:lower:]": "abcdefghijklmnopqrstuvwxyz",
		"[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"[:digit:]": "0123456789",
		"[:space:]": " \t\n\r\v\f",
		"[:blank:]": " \t",
		"[:alpha:]": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"[:alnum:]": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
		"[:punct:]": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '[' {
			if j := strings.Index(s[i:], ":]"); j > 0 {
				if c, ok := classes[s[i:i+j+2]]; ok {
					out = append(out, c...)
					i += j + 1
					continue
				}
			}
		}
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'r':
				c = '\r'
			case '\\':
				c = '\\'
			default:
				c = s[i]
			}
		}
		if i+2 < len(s) && s[i+1] == '-' {
			hi := s[i+2]
			for x := int(c); x <= int(hi); x++ {
				out = append(out, byte(x))
			}
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

func cmdTr(hc interp.HandlerContext, args []string) error {
	del, squeeze, complement := false, false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		if args[0] == "--" {
			args = args[1:]
			break
		}
		for _, c := range args[0][1:] {
			switch c {
			case 'd':
				del = true
			case 's':
				squeeze = true
			case 'c', 'C':
				complement = true
			default:
				return failf(hc, "tr: unknown option -%c", c)
			}
		}
		args = args[1:]
	}
	if len(args) == 0 || len(args) > 2 || (!del && !squeeze && len(args) != 2) {
		return failf(hc, "tr: bad arguments")
	}
	set1 := trSet(args[0])
	var set2 []byte
	if len(args) == 2 {
		set2 = trSet(args[1])
	}
	var in1 [256]bool
	for _, c := range set1 {
		in1[c] = true
	}
	if complement {
		for i := range in1 {
			in1[i] = !in1[i]
		}
	}
	var mapping [256]int
	for i := range mapping {
		mapping[i] = i
	}
	if !del && len(set2) > 0 && !complement {
		for i, c := range set1 {
			mapping[c] = int(set2[min(i, len(set2)-1)])
		}
	} else if !del && len(set2) > 0 && complement {
		for i := range mapping {
			if in1[i] {
				mapping[i] = int(set2[len(set2)-1])
			}
		}
	}
	var sq [256]bool
	sqSet := set2
	if del || len(set2) == 0 {
		sqSet = set1
	}
	for _, c := range sqSet {
		sq[c] = true
	}
	in := readInput(hc)
	out := make([]byte, 0, len(in))
	last := -1
	for i := 0; i < len(in); i++ {
		c := in[i]
		if del && in1[c] {
			continue
		}
		o := byte(mapping[c])
		if squeeze && sq[o] && int(o) == last {
			continue
		}
		out = append(out, o)
		last = int(o)
	}
	_, err := hc.Stdout.Write(out)
	return err
}

func cmdUname(hc interp.HandlerContext, args []string) error {
	carch := hc.Env.Get("CBUILD_ARCH").String()
	machine := strings.SplitN(Triplet(carch), "-", 2)[0]
	if carch == "x86" {
		machine = "i686"
	}
	var out []string
	for _, a := range args {
		switch a {
		case "-m", "-p":
			out = append(out, machine)
		case "-s":
			out = append(out, "Linux")
		case "-o":
			out = append(out, "Linux")
		default:
			return failf(hc, "uname: %s is not supported: evaluation runs no host programs", a)
		}
	}
	if len(args) == 0 {
		out = append(out, "Linux")
	}
	fmt.Fprintln(hc.Stdout, strings.Join(out, " "))
	return nil
}

func cmdNproc(hc interp.HandlerContext, args []string) error {
	n := runtime.NumCPU()
	if j, err := strconv.Atoi(hc.Env.Get("JOBS").String()); err == nil && j > 0 {
		n = j
	}
	fmt.Fprintln(hc.Stdout, n)
	return nil
}

func cmdCat(hc interp.HandlerContext, args []string) error {
	for _, a := range args {
		if a != "-" {
			return failf(hc, "cat: reading files is not supported: evaluation runs no host programs")
		}
	}
	_, err := io.WriteString(hc.Stdout, readInput(hc))
	return err
}

// countArg parses the -n N, -nN, -N and -c N arguments of head and tail.
func countArg(args []string) (n int, fromStart, bytes bool, err error) {
	n = 10
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		switch {
		case a == "-n" || a == "-c":
			if i+1 >= len(args) {
				return 0, false, false, fmt.Errorf("missing count")
			}
			bytes = a == "-c"
			i++
			v = args[i]
		case strings.HasPrefix(a, "-n"), strings.HasPrefix(a, "-c"):
			bytes = a[1] == 'c'
			v = a[2:]
		case strings.HasPrefix(a, "-") && len(a) > 1:
			v = a[1:]
		default:
			return 0, false, false, fmt.Errorf("reading files is not supported")
		}
		if strings.HasPrefix(v, "+") {
			fromStart = true
			v = v[1:]
		}
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			return 0, false, false, fmt.Errorf("bad count %q", v)
		}
	}
	return n, fromStart, bytes, nil
}

func cmdHead(hc interp.HandlerContext, args []string) error {
	n, _, byBytes, err := countArg(args)
	if err != nil {
		return failf(hc, "head: %v", err)
	}
	in := readInput(hc)
	if byBytes {
		_, err := io.WriteString(hc.Stdout, in[:min(n, len(in))])
		return err
	}
	ls := lines(in)
	for _, l := range ls[:min(n, len(ls))] {
		fmt.Fprintln(hc.Stdout, l)
	}
	return nil
}

func cmdTail(hc interp.HandlerContext, args []string) error {
	n, fromStart, byBytes, err := countArg(args)
	if err != nil {
		return failf(hc, "tail: %v", err)
	}
	in := readInput(hc)
	if byBytes {
		start := max(len(in)-n, 0)
		if fromStart {
			start = min(max(n-1, 0), len(in))
		}
		_, err := io.WriteString(hc.Stdout, in[start:])
		return err
	}
	ls := lines(in)
	start := max(len(ls)-n, 0)
	if fromStart {
		start = min(max(n-1, 0), len(ls))
	}
	for _, l := range ls[start:] {
		fmt.Fprintln(hc.Stdout, l)
	}
	return nil
}

func cmdSort(hc interp.HandlerContext, args []string) error {
	unique, reverse := false, false
	for _, a := range args {
		switch a {
		case "-u":
			unique = true
		case "-r":
			reverse = true
		default:
			return failf(hc, "sort: %s is not supported: evaluation runs no host programs", a)
		}
	}
	ls := lines(readInput(hc))
	slices.Sort(ls)
	if unique {
		ls = slices.Compact(ls)
	}
	if reverse {
		slices.Reverse(ls)
	}
	for _, l := range ls {
		fmt.Fprintln(hc.Stdout, l)
	}
	return nil
}

func cmdSeq(hc interp.HandlerContext, args []string) error {
	nums := make([]int, 0, 3)
	for _, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil {
			return failf(hc, "seq: invalid number %q", a)
		}
		nums = append(nums, n)
	}
	first, step, last := 1, 1, 0
	switch len(nums) {
	case 1:
		last = nums[0]
	case 2:
		first, last = nums[0], nums[1]
	case 3:
		first, step, last = nums[0], nums[1], nums[2]
	default:
		return failf(hc, "seq: bad arguments")
	}
	if step == 0 || (last-first)/step > 100000 {
		return failf(hc, "seq: too many numbers")
	}
	w := bufio.NewWriter(hc.Stdout)
	defer w.Flush()
	for i := first; (step > 0 && i <= last) || (step < 0 && i >= last); i += step {
		fmt.Fprintln(w, i)
	}
	return nil
}

func cmdWc(hc interp.HandlerContext, args []string) error {
	in := readInput(hc)
	if len(args) != 1 {
		return failf(hc, "wc: only one of -l, -c, -w is supported when evaluating shell")
	}
	switch args[0] {
	case "-l":
		fmt.Fprintln(hc.Stdout, strings.Count(in, "\n"))
	case "-c":
		fmt.Fprintln(hc.Stdout, len(in))
	case "-w":
		fmt.Fprintln(hc.Stdout, len(strings.Fields(in)))
	default:
		return failf(hc, "wc: %s is not supported: evaluation runs no host programs", args[0])
	}
	return nil
}

// cmdExpr implements the expr forms recipes use: arithmetic and comparison
// of two operands, "STRING : REGEX" is refused.
func cmdExpr(hc interp.HandlerContext, args []string) error {
	if len(args) == 1 {
		fmt.Fprintln(hc.Stdout, args[0])
		if args[0] == "" || args[0] == "0" {
			return interp.ExitStatus(1)
		}
		return nil
	}
	if len(args) != 3 {
		return failf(hc, "expr: only 'A op B' is supported when evaluating shell")
	}
	a, op, b := args[0], args[1], args[2]
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	num := errA == nil && errB == nil
	var res string
	cmp := func(c int) string {
		ok := false
		switch op {
		case "=":
			ok = c == 0
		case "!=":
			ok = c != 0
		case "<":
			ok = c < 0
		case "<=":
			ok = c <= 0
		case ">":
			ok = c > 0
		case ">=":
			ok = c >= 0
		}
		if ok {
			return "1"
		}
		return "0"
	}
	switch op {
	case "+", "-", "*", "/", "%":
		if !num {
			return failf(hc, "expr: non-numeric argument")
		}
		switch op {
		case "+":
			res = strconv.FormatInt(x+y, 10)
		case "-":
			res = strconv.FormatInt(x-y, 10)
		case "*":
			res = strconv.FormatInt(x*y, 10)
		case "/", "%":
			if y == 0 {
				return failf(hc, "expr: division by zero")
			}
			if op == "/" {
				res = strconv.FormatInt(x/y, 10)
			} else {
				res = strconv.FormatInt(x%y, 10)
			}
		}
	case "=", "!=", "<", "<=", ">", ">=":
		if num {
			c := 0
			if x < y {
				c = -1
			} else if x > y {
				c = 1
			}
			res = cmp(c)
		} else {
			res = cmp(strings.Compare(a, b))
		}
	default:
		return failf(hc, "expr: operator %q is not supported: evaluation runs no host programs", op)
	}
	fmt.Fprintln(hc.Stdout, res)
	if res == "0" || res == "" {
		return interp.ExitStatus(1)
	}
	return nil
}
