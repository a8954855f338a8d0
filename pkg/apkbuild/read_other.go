//go:build !unix

package apkbuild

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// readLimited reads the file at path, refusing one larger than
// MaxFileSize.
func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	size := 0
	if fi, err := fh.Stat(); err == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("read %s: is a directory", path)
		}
		if fi.Size() > MaxFileSize {
			return nil, &ParseError{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize), Err: ErrLimit}
		}
		size = int(fi.Size())
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+512))
	if _, err := buf.ReadFrom(io.LimitReader(fh, MaxFileSize+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf.Bytes(), nil
}
