//go:build unix

package apkbuild

import (
	"fmt"
	"io/fs"
	"sync"
	"syscall"
)

// readBufs holds the buffers files are read into before being copied out
// at their exact size.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// readLimited reads the file at path, refusing one larger than
// MaxFileSize. It uses the system calls directly: a recipe tree is
// thousands of small files, and os.Open would also stat each one and try
// to register it with the network poller.
func readLimited(path string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := (*bp)[:0]
	for {
		if len(buf) == cap(buf) {
			if len(buf) > MaxFileSize {
				return nil, &ParseError{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize), Err: ErrLimit}
			}
			grown := make([]byte, len(buf), min(2*cap(buf), MaxFileSize+1))
			copy(grown, buf)
			buf = grown
			if cap(grown) <= 1<<20 {
				*bp = grown // keep it for the next large file
			}
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EISDIR {
			return nil, fmt.Errorf("read %s: is a directory", path)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, &fs.PathError{Op: "read", Path: path, Err: err})
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	if len(buf) > MaxFileSize {
		return nil, &ParseError{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize), Err: ErrLimit}
	}
	return append([]byte(nil), buf...), nil
}
