package index

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apkit-dev/apkit/pkg/apk"
)

// ParseError is a syntax error in APKINDEX text, with the 1-based line where
// it was found.
type ParseError struct {
	Line int    // 1-based line number
	Msg  string // what is wrong
	// Err is the sentinel the error matches (apk.ErrLineTooLong), or nil.
	Err error
}

// Error returns "APKINDEX:<line>: <msg>".
func (e *ParseError) Error() string { return fmt.Sprintf("APKINDEX:%d: %s", e.Line, e.Msg) }

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// MaxHeaderSize is the most bytes a record's lines before D: (C: to k:,
// newlines included) may take: apk 2.14 writes them through a buffer of
// that size into its database of installed packages, and into an index it
// makes. A longer record fails apk index ("Metadata for package is too
// long"), and installing the package truncates apk's database there, so
// that apk forgets every installed package after it.
const MaxHeaderSize = 2048

// ErrHeaderTooLong is wrapped by the errors for a record whose lines
// before D: take more than [MaxHeaderSize] bytes.
var ErrHeaderTooLong = errors.New("package metadata longer than apk records")

// lineTooLong describes a line of n bytes, its newline not counted, longer
// than apk reads; it returns nil when the line fits in [apk.MaxLineSize].
func lineTooLong(n int) error {
	if n < apk.MaxLineSize {
		return nil
	}
	return fmt.Errorf("%w: %d bytes with its newline, at most %d", apk.ErrLineTooLong, n+1, apk.MaxLineSize)
}

// listLen returns the length of the line that holds items after a
// two-byte key, its newline not counted.
func listLen(items []string) int {
	n := 2
	for _, it := range items {
		n += len(it) + 1
	}
	return n - 1
}

// Limits on what [ParseText] accepts, so that memory stays within a small
// multiple of the input's size whatever the input.
const (
	// MaxRecords is the most records an index may hold (Alpine's largest
	// repositories have about 25,000).
	MaxRecords = 1 << 18
	// MaxItems is the most D:, p: and i: items all records together may
	// hold.
	MaxItems = 1 << 22
)

// ParseText parses APKINDEX text: records of "X:value" lines, each record
// ending with an empty line. Every field apk defines is read
// into its [Record] field and lines with other letters into [Record.Extra];
// records come back in the order they appear. A repeated scalar field keeps
// its last value, as apk does; repeated D, p and i lines add to the list.
//
// ParseText returns a [*ParseError] for a line whose second byte is not ':'
// (apk rejects the whole index for it), a line longer than apk reads
// ([apk.MaxLineSize]), a malformed number in S, I, t or k, a record without
// P or V, a D, p or i list whose items do not fit on one line (apk writes
// them so in its database of installed packages, and could not read that
// back), a record longer than [MaxHeaderSize] before its D: line, or more
// than [MaxRecords] records or [MaxItems] list items. It
// splits list items at spaces only, as apk does. Whatever it accepts,
// [AppendText] writes, and writes so that ParseText reads the same
// records back. The strings of the records share memory with one copy of
// data.
func ParseText(data []byte) ([]*Record, error) {
	return parseText(string(data))
}

// parseText is ParseText over text, whose memory the records share.
func parseText(text string) ([]*Record, error) {
	var p textParser
	return p.parse(nil, text)
}

// textParser parses APKINDEX text given in pieces that each end with a
// whole record (or the text's end): line numbers and the limits run across
// the pieces.
type textParser struct {
	lineNo int // lines read so far
	items  int // list items read so far
	nrecs  int // records read so far
}

// parse appends the records of text, the next piece, to recs.
func (p *textParser) parse(recs []*Record, text string) ([]*Record, error) {
	n := min(strings.Count(text, "\n\n")+1, MaxRecords)
	recs = slices.Grow(recs, n)
	// The records themselves are allocated together: an empty line ends
	// each, so there are at most n of them.
	block := make([]Record, 0, n)
	var (
		cur       *Record
		startLine int
	)
	end := func() error {
		if cur == nil {
			return nil
		}
		if p.nrecs >= MaxRecords {
			return &ParseError{Line: startLine, Msg: fmt.Sprintf("more than %d records", MaxRecords)}
		}
		if cur.Name == "" {
			return &ParseError{Line: startLine, Msg: "record has no P: field"}
		}
		if cur.Version == "" {
			return &ParseError{Line: startLine, Msg: fmt.Sprintf("record %s has no V: field", cur.Name)}
		}
		if err := cur.checkLists(); err != nil {
			return &ParseError{Line: startLine, Msg: err.Error(), Err: apk.ErrLineTooLong}
		}
		if err := cur.checkHeader(); err != nil {
			return &ParseError{Line: startLine, Msg: err.Error(), Err: ErrHeaderTooLong}
		}
		recs = append(recs, cur)
		p.nrecs++
		cur = nil
		return nil
	}
	for len(text) > 0 {
		p.lineNo++
		lineNo := p.lineNo
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		if line == "" {
			if err := end(); err != nil {
				return nil, err
			}
			continue
		}
		if err := lineTooLong(len(line)); err != nil {
			return nil, &ParseError{Line: lineNo, Msg: fmt.Sprintf("line %q: %v", truncate(line), err), Err: apk.ErrLineTooLong}
		}
		if len(line) < 2 || line[1] != ':' {
			return nil, &ParseError{Line: lineNo, Msg: fmt.Sprintf("line %q is not X:value", truncate(line))}
		}
		if cur == nil {
			if len(block) < cap(block) {
				block = block[:len(block)+1]
				cur = &block[len(block)-1]
			} else {
				cur = &Record{}
			}
			startLine = lineNo
		}
		n, err := cur.set(line[0], line[2:])
		if err != nil {
			return nil, &ParseError{Line: lineNo, Msg: err.Error()}
		}
		if p.items += n; p.items > MaxItems {
			return nil, &ParseError{Line: lineNo, Msg: fmt.Sprintf("more than %d dependency items", MaxItems)}
		}
	}
	if err := end(); err != nil {
		return nil, err
	}
	return recs, nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// set stores one field and returns the number of list items it added.
func (r *Record) set(key byte, v string) (items int, err error) {
	switch key {
	case 'C':
		r.Checksum = v
	case 'P':
		r.Name = v
	case 'V':
		r.Version = v
	case 'A':
		r.Arch = v
		r.noteEmpty(key, v)
	case 'S':
		r.Size, err = parseNumber('S', v)
	case 'I':
		r.InstalledSize, err = parseNumber('I', v)
	case 'T':
		r.Description = v
	case 'U':
		r.URL = v
	case 'L':
		r.License = v
	case 'o':
		r.Origin = v
		r.noteEmpty(key, v)
	case 'm':
		r.Maintainer = v
		r.noteEmpty(key, v)
	case 't':
		r.BuildTime, err = parseNumber('t', v)
	case 'c':
		r.Commit = v
		r.noteEmpty(key, v)
	case 'k':
		r.ProviderPriority, err = parseNumber('k', v)
	case 'D':
		n := len(r.Depends)
		r.Depends = appendItems(r.Depends, v)
		items = len(r.Depends) - n
	case 'p':
		n := len(r.Provides)
		r.Provides = appendItems(r.Provides, v)
		items = len(r.Provides) - n
	case 'i':
		n := len(r.InstallIf)
		r.InstallIf = appendItems(r.InstallIf, v)
		items = len(r.InstallIf) - n
	default:
		r.Extra = append(r.Extra, Field{Key: key, Value: v})
	}
	return items, err
}

// noteEmpty records in r.Empty that the optional field key is present with
// an empty value.
func (r *Record) noteEmpty(key byte, v string) {
	if v == "" && strings.IndexByte(r.Empty, key) < 0 {
		r.Empty += string(key)
	}
}

// optional reports whether the optional field key, whose value is v, is
// written: when it has a value, or is present but empty.
func (r *Record) optional(key byte, v string) bool {
	return v != "" || strings.IndexByte(r.Empty, key) >= 0
}

// parseNumber reads a non-negative decimal number.
func parseNumber(key byte, v string) (int64, error) {
	if v == "" {
		return 0, fmt.Errorf("%c: empty number", key)
	}
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, fmt.Errorf("%c: %q is not a decimal number", key, truncate(v))
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%c: %q is out of range", key, truncate(v))
	}
	return n, nil
}

// appendItems appends the space-separated items of v to list. Only a space
// separates items, as in apk: a tab is part of an item.
func appendItems(list []string, v string) []string {
	for v != "" {
		i := strings.IndexByte(v, ' ')
		if i != 0 && cap(list) == 0 {
			// One allocation for the field: at most a space-separated
			// item per space, plus one.
			list = make([]string, 0, strings.Count(v, " ")+1)
		}
		if i < 0 {
			return append(list, v)
		}
		if i > 0 {
			list = append(list, v[:i])
		}
		v = v[i+1:]
	}
	return list
}

// errNewline is wrapped by [Record.AppendText] for values that would break
// the line structure.
var errNewline = errors.New("value contains a newline")

// AppendText appends the record in apk's field order (C P V A S I
// T U L o m t c k D p i, then [Record.Extra]), followed by the empty line
// that ends a record. Optional fields are written only when set, or listed
// in [Record.Empty]. It returns
// an error, and b unchanged, when a value contains a newline or a list item
// is empty or contains a space, since the index could not be read back, or
// when a line would be longer than apk reads ([apk.MaxLineSize]; the error
// names the record and the field and wraps apk.ErrLineTooLong), or the
// lines before D: longer than apk records ([MaxHeaderSize],
// [ErrHeaderTooLong]).
func (r *Record) AppendText(b []byte) ([]byte, error) {
	if err := r.check(); err != nil {
		return b, err
	}
	if r.Checksum != "" {
		b = appendField(b, 'C', r.Checksum)
	}
	b = appendField(b, 'P', r.Name)
	b = appendField(b, 'V', r.Version)
	if r.optional('A', r.Arch) {
		b = appendField(b, 'A', r.Arch)
	}
	b = appendNumber(b, 'S', r.Size)
	b = appendNumber(b, 'I', r.InstalledSize)
	b = appendField(b, 'T', r.Description)
	b = appendField(b, 'U', r.URL)
	b = appendField(b, 'L', r.License)
	if r.optional('o', r.Origin) {
		b = appendField(b, 'o', r.Origin)
	}
	if r.optional('m', r.Maintainer) {
		b = appendField(b, 'm', r.Maintainer)
	}
	if r.BuildTime != 0 {
		b = appendNumber(b, 't', r.BuildTime)
	}
	if r.optional('c', r.Commit) {
		b = appendField(b, 'c', r.Commit)
	}
	if r.ProviderPriority != 0 {
		b = appendNumber(b, 'k', r.ProviderPriority)
	}
	b = appendList(b, 'D', r.Depends)
	b = appendList(b, 'p', r.Provides)
	b = appendList(b, 'i', r.InstallIf)
	for _, f := range r.Extra {
		b = appendField(b, f.Key, f.Value)
	}
	return append(b, '\n'), nil
}

// fieldNames names the fields of a record in errors, by their .PKGINFO
// keys.
var fieldNames = map[byte]string{
	'C': "checksum", 'P': "pkgname", 'V': "pkgver", 'A': "arch",
	'T': "pkgdesc", 'U': "url", 'L': "license", 'o': "origin",
	'm': "maintainer", 'c': "commit", 'D': "depend", 'p': "provides",
	'i': "install_if",
}

// fieldName returns "X" or "X (key)" for the field with letter key.
func fieldName(key byte) string {
	if n, ok := fieldNames[key]; ok {
		return fmt.Sprintf("%c (%s)", key, n)
	}
	return fmt.Sprintf("%c", key)
}

// id names the record in errors: name-version, or the name alone.
func (r *Record) id() string {
	if r.Version == "" {
		return r.Name
	}
	return r.Name + "-" + r.Version
}

// checkHeader reports a record whose lines before D:, as apk writes them,
// take more than MaxHeaderSize bytes, and names its longest field.
func (r *Record) checkHeader() error {
	n, longest, longLen := 0, byte(0), -1
	fieldLen := func(key byte, l int) {
		n += len("X:\n") + l
		if l > longLen {
			longest, longLen = key, l
		}
	}
	field := func(key byte, v string) { fieldLen(key, len(v)) }
	var digits [20]byte
	number := func(key byte, v int64) { fieldLen(key, len(strconv.AppendInt(digits[:0], v, 10))) }
	field('C', r.Checksum) // apk writes C: even when it is empty
	field('P', r.Name)
	field('V', r.Version)
	if r.optional('A', r.Arch) {
		field('A', r.Arch)
	}
	number('S', r.Size)
	number('I', r.InstalledSize)
	field('T', r.Description)
	field('U', r.URL)
	field('L', r.License)
	if r.optional('o', r.Origin) {
		field('o', r.Origin)
	}
	if r.optional('m', r.Maintainer) {
		field('m', r.Maintainer)
	}
	if r.BuildTime != 0 {
		number('t', r.BuildTime)
	}
	if r.optional('c', r.Commit) {
		field('c', r.Commit)
	}
	if r.ProviderPriority != 0 {
		number('k', r.ProviderPriority)
	}
	if n > MaxHeaderSize {
		return fmt.Errorf("record %s: %w: its lines before D: take %d bytes, at most %d (the longest is %s, %d bytes)",
			r.id(), ErrHeaderTooLong, n, MaxHeaderSize, fieldName(longest), longLen)
	}
	return nil
}

// checkLists reports a D, p or i list that does not fit on one line.
func (r *Record) checkLists() error {
	for _, l := range []struct {
		key   byte
		items []string
	}{{'D', r.Depends}, {'p', r.Provides}, {'i', r.InstallIf}} {
		if len(l.items) == 0 {
			continue
		}
		if err := lineTooLong(listLen(l.items)); err != nil {
			return fmt.Errorf("record %s: %s: %d items on one line: %w", r.id(), fieldName(l.key), len(l.items), err)
		}
	}
	return nil
}

// check reports a value AppendText cannot write so that it, and apk, read
// it back.
func (r *Record) check() error {
	if r.Name == "" {
		return errors.New("record has no name")
	}
	if r.Version == "" {
		return fmt.Errorf("record %s has no version", r.Name)
	}
	for _, f := range []struct {
		key byte
		v   string
	}{
		{'C', r.Checksum}, {'P', r.Name}, {'V', r.Version}, {'A', r.Arch},
		{'T', r.Description}, {'U', r.URL}, {'L', r.License}, {'o', r.Origin},
		{'m', r.Maintainer}, {'c', r.Commit},
	} {
		if strings.IndexByte(f.v, '\n') >= 0 {
			return fmt.Errorf("record %s: %c: %w", r.Name, f.key, errNewline)
		}
		if err := lineTooLong(2 + len(f.v)); err != nil {
			return fmt.Errorf("record %s: %s: %w", r.id(), fieldName(f.key), err)
		}
	}
	if r.Size < 0 || r.InstalledSize < 0 || r.BuildTime < 0 || r.ProviderPriority < 0 {
		return fmt.Errorf("record %s: negative number", r.Name)
	}
	for _, l := range []struct {
		key   byte
		items []string
	}{{'D', r.Depends}, {'p', r.Provides}, {'i', r.InstallIf}} {
		for _, it := range l.items {
			if it == "" || strings.ContainsAny(it, " \n") {
				return fmt.Errorf("record %s: %c: bad item %q", r.Name, l.key, it)
			}
		}
	}
	if err := r.checkLists(); err != nil {
		return err
	}
	if err := r.checkHeader(); err != nil {
		return err
	}
	for _, f := range r.Extra {
		if f.Key == '\n' || strings.IndexByte(f.Value, '\n') >= 0 {
			return fmt.Errorf("record %s: %c: %w", r.Name, f.Key, errNewline)
		}
		if err := lineTooLong(2 + len(f.Value)); err != nil {
			return fmt.Errorf("record %s: %s: %w", r.id(), fieldName(f.Key), err)
		}
	}
	return nil
}

func appendField(b []byte, key byte, v string) []byte {
	b = append(b, key, ':')
	b = append(b, v...)
	return append(b, '\n')
}

func appendNumber(b []byte, key byte, n int64) []byte {
	b = append(b, key, ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\n')
}

func appendList(b []byte, key byte, items []string) []byte {
	if len(items) == 0 {
		return b
	}
	b = append(b, key, ':')
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, it...)
	}
	return append(b, '\n')
}

// AppendText appends the APKINDEX text of recs, in the order given (use
// [Sort] for apk index's order).
func AppendText(b []byte, recs []*Record) ([]byte, error) {
	for _, r := range recs {
		var err error
		if b, err = r.AppendText(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

// WriteText writes the APKINDEX text of recs to w, in the order given.
func WriteText(w io.Writer, recs []*Record) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf []byte
	for _, r := range recs {
		var err error
		buf, err = r.AppendText(buf[:0])
		if err != nil {
			return err
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
