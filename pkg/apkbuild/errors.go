package apkbuild

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by the errors this package returns.
var (
	// ErrLimit reports that evaluation hit a time, memory or recursion bound.
	ErrLimit = errors.New("evaluation limit exceeded")
	// ErrUnsupported reports a construct or command the evaluator refuses to run.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalid reports a recipe value that breaks abuild's rules.
	ErrInvalid = errors.New("invalid recipe")
)

// ParseError is an error at a position in a recipe or shell file. Its
// message reads "APKBUILD:12:3: msg"; Line and Col are 1-based, and 0 when
// unknown.
type ParseError struct {
	File string
	Line int
	Col  int
	Msg  string
	// Err is the underlying cause, if any (see [ErrLimit], [ErrUnsupported],
	// [ErrInvalid]).
	Err error
}

// Error formats the error as "FILE:LINE:COL: msg", leaving out what is
// unknown.
func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }
