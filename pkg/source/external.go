package source

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// externalDecoders are the programs tried, in order, for formats whose
// pure Go decoder is much slower than the C one: the same programs
// "tar -xJf" and "tar -xjf" run. They only ever decompress a stream from
// standard input to standard output.
var externalDecoders = map[string][][]string{
	"xz":  {{"xz", "-d", "-c"}},
	"bz2": {{"lbzip2", "-d", "-c"}, {"bzip2", "-d", "-c"}},
}

// decompress is [Decompress] that may run an external decoder (unless
// opts.PureGo is set), killed when ctx ends or the reader is closed, and
// that decodes the blocks of a multi-block xz file in parallel.
func decompress(ctx context.Context, r io.Reader, f Format, opts UnpackOptions) (io.ReadCloser, error) {
	if !opts.PureGo {
		for _, argv := range externalDecoders[strings.TrimPrefix(string(f), "tar.")] {
			path, err := exec.LookPath(argv[0])
			if err != nil {
				continue
			}
			return startExternal(ctx, r, path, argv)
		}
	}
	if strings.TrimPrefix(string(f), "tar.") == "xz" {
		if file, ok := r.(*os.File); ok {
			if pos, err := file.Seek(0, io.SeekCurrent); err == nil && pos == 0 {
				if fi, err := file.Stat(); err == nil && fi.Mode().IsRegular() {
					if px, ok := parallelXZ(file, fi.Size()); ok {
						return newReadAhead(px, func() { px.Close() }), nil
					}
				}
			}
		}
	}
	return Decompress(r, f)
}

// cmdReader reads the standard output of a decoder process.
type cmdReader struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	br     *bufio.Reader
	stderr *cappedBuffer
	once   sync.Once
	err    error // from Wait
}

func startExternal(ctx context.Context, r io.Reader, path string, argv []string) (*cmdReader, error) {
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Stdin = r // an *os.File is handed to the process as it is
	stderr := &cappedBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &cmdReader{cmd: cmd, out: out, br: bufio.NewReaderSize(out, 1<<20), stderr: stderr}, nil
}

func (c *cmdReader) wait() error {
	c.once.Do(func() {
		if err := c.cmd.Wait(); err != nil {
			msg := strings.TrimSpace(c.stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			c.err = fmt.Errorf("%s: %s", c.cmd.Args[0], msg)
		}
	})
	return c.err
}

func (c *cmdReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	if err == io.EOF {
		if werr := c.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// Close stops the decoder if it is still running.
func (c *cmdReader) Close() error {
	c.out.Close() // a decoder still writing gets EPIPE and exits
	c.wait()
	return nil
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
