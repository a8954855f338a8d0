package source

import (
	"io"
	"sync"
)

// readAhead decodes in its own goroutine, a few blocks ahead of the reader,
// so that decompression and writing files overlap on separate cores (as
// "gzip -d | tar -x" does).
type readAhead struct {
	full chan *block
	free chan *block
	cur  *block
	err  error
	done chan struct{}
	once sync.Once
}

type block struct {
	buf []byte
	off int // read position in buf
	n   int // end of the data in buf
	err error
}

const (
	readAheadBlocks    = 4
	readAheadBlockSize = 1 << 20
)

func newReadAhead(r io.Reader, closeFn func()) *readAhead {
	ra := &readAhead{
		full: make(chan *block, readAheadBlocks),
		free: make(chan *block, readAheadBlocks),
		done: make(chan struct{}),
	}
	for range readAheadBlocks {
		ra.free <- &block{buf: make([]byte, readAheadBlockSize)}
	}
	go func() {
		defer close(ra.full)
		if closeFn != nil {
			defer closeFn()
		}
		for {
			var b *block
			select {
			case b = <-ra.free:
			case <-ra.done:
				return
			}
			b.n, b.err = fill(r, b.buf)
			select {
			case ra.full <- b:
			case <-ra.done:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.cur != nil && ra.cur.off < ra.cur.n {
			n := copy(p, ra.cur.buf[ra.cur.off:ra.cur.n])
			ra.cur.off += n
			return n, nil
		}
		if ra.cur != nil {
			if ra.cur.err != nil {
				ra.err = ra.cur.err
				continue
			}
			ra.cur.off, ra.cur.n = 0, 0
			ra.free <- ra.cur
			ra.cur = nil
		}
		b, ok := <-ra.full
		if !ok {
			ra.err = io.ErrUnexpectedEOF
			continue
		}
		ra.cur = b
	}
}

// Close stops the decoding goroutine, which then releases the decoder.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.done) })
	return nil
}

// fill reads into buf until it is full or r fails. Unlike io.ReadFull it
// passes r's own error on unchanged, so that a decoder's
// io.ErrUnexpectedEOF (a truncated stream) is not taken for a clean end.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
