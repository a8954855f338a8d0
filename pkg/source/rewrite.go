package source

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// FileSum is one line of an APKBUILD checksum block: a digest and the
// saved name of the source it belongs to.
type FileSum struct {
	Digest string `json:"digest"` // lowercase hex
	Name   string `json:"name"`   // the source's saved name
}

// RewriteError is a problem found in the text of an APKBUILD, with its
// 1-based line.
type RewriteError struct {
	Line int    // 1-based line number
	Msg  string // what is wrong
}

// Error returns "APKBUILD:<line>: <msg>".
func (e *RewriteError) Error() string { return fmt.Sprintf("APKBUILD:%d: %s", e.Line, e.Msg) }

var sumsAssign = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha[0-9]+sums=`) })

// span is a range of whole lines [start, end) as byte offsets.
type span struct{ start, end int }

// lines splits src into lines, each keeping its "\n" (the last may lack it).
func lines(src []byte) [][]byte {
	var out [][]byte
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			out = append(out, src)
			break
		}
		out = append(out, src[:i+1])
		src = src[i+1:]
	}
	return out
}

// sumsBlocks finds every sha<digits>sums= assignment that starts at column
// 1, as abuild's checksum does: a one-line value, or a quoted value that
// runs to the first line ending with the closing quote.
func sumsBlocks(src []byte) ([]span, error) {
	var blocks []span
	ls := lines(src)
	off := 0
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		if !sumsAssign().Match(l) {
			off += len(l)
			continue
		}
		start := off
		line := strings.TrimRight(string(l), "\r\n")
		val := line[strings.IndexByte(line, '=')+1:]
		off += len(l)
		if val != "" && (val[0] == '"' || val[0] == '\'') {
			q := val[0]
			if !strings.Contains(val[1:], string(q)) {
				j := i + 1
				for ; j < len(ls); j++ {
					off += len(ls[j])
					if strings.HasSuffix(strings.TrimRight(string(ls[j]), " \t\r\n"), string(q)) {
						break
					}
				}
				if j == len(ls) {
					return nil, &RewriteError{Line: i + 1, Msg: fmt.Sprintf("%s has no closing %c", line[:strings.IndexByte(line, '=')], q)}
				}
				i = j
			}
		}
		blocks = append(blocks, span{start, off})
	}
	return blocks, nil
}

// FormatChecksums returns a checksum block in abuild's format: the
// assignment of the algo's list (e.g. sha512sums), one "<digest>  <name>"
// line per source, and the closing quote on a line of its own.
func FormatChecksums(algo Algo, sums []FileSum) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%ssums=\"\n", algo)
	for _, s := range sums {
		fmt.Fprintf(&b, "%s  %s\n", s.Digest, s.Name)
	}
	b.WriteString("\"\n")
	return b.Bytes()
}

// RewriteChecksums returns src, the text of an APKBUILD, with its
// checksums replaced by a sha512sums block of sums in abuild's format
// ([FormatChecksums]). Every sha<digits>sums= assignment at column 1 is
// removed (md5sums lines are left alone, as abuild leaves them); the new
// block takes the place of the first one removed, or is appended at the
// end of the file when there was none. Every other byte is kept. An empty
// sums only removes the blocks, as abuild does for a recipe without
// sources.
func RewriteChecksums(src []byte, sums []FileSum) ([]byte, error) {
	for _, s := range sums {
		if len(s.Digest) != SHA512.hexLen() || strings.Trim(s.Digest, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("checksum of %s: not a lowercase sha512 hex digest", s.Name)
		}
		if !validName(s.Name) {
			return nil, fmt.Errorf("checksum of %q: invalid saved name", s.Name)
		}
	}
	blocks, err := sumsBlocks(src)
	if err != nil {
		return nil, err
	}
	var block []byte
	if len(sums) > 0 {
		block = FormatChecksums(SHA512, sums)
	}
	var out bytes.Buffer
	out.Grow(len(src) + len(block))
	prev := 0
	for i, b := range blocks {
		out.Write(src[prev:b.start])
		if i == 0 {
			out.Write(block)
		}
		prev = b.end
	}
	out.Write(src[prev:])
	if len(blocks) == 0 && len(block) > 0 {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		out.Write(block)
	}
	return out.Bytes(), nil
}

var safeUnquoted = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._+~@:/-]+$`) })

// SetVariable returns src, the text of an APKBUILD, with the value of the
// first assignment to name at column 1 replaced by value, keeping its
// quoting (and anything after the value on that line, such as a comment)
// and every other byte of the file. It is how a recipe's pkgver and
// pkgrel are bumped.
func SetVariable(src []byte, name, value string) ([]byte, error) {
	if strings.ContainsAny(value, "\"'\\$`\n") {
		return nil, fmt.Errorf("set %s: value %q needs shell quoting", name, value)
	}
	prefix := []byte(name + "=")
	off := 0
	for n, l := range lines(src) {
		if !bytes.HasPrefix(l, prefix) {
			off += len(l)
			continue
		}
		vstart := off + len(prefix)
		rest := string(l[len(prefix):])
		var vend int // end of the old value (quotes included), relative to vstart
		quote := ""
		switch {
		case rest != "" && (rest[0] == '"' || rest[0] == '\''):
			quote = rest[:1]
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				return nil, &RewriteError{Line: n + 1, Msg: fmt.Sprintf("%s: value spans several lines", name)}
			}
			vend = end + 2
		default:
			vend = strings.IndexAny(rest, " \t;\r\n")
			if vend < 0 {
				vend = len(rest)
			}
			if !safeUnquoted().MatchString(value) {
				quote = `"`
			}
		}
		var out bytes.Buffer
		out.Write(src[:vstart])
		out.WriteString(quote + value + quote)
		out.Write(src[vstart+vend:])
		return out.Bytes(), nil
	}
	return nil, fmt.Errorf("set %s: no assignment %s= at the start of a line", name, name)
}
