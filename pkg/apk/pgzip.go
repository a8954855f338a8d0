package apk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
)

// chunkSize is the amount of input each compression job takes. Every
// chunk is compressed with the 32 KiB before it as its dictionary, so
// splitting costs a few bytes per chunk, and the output depends only on
// the input and the level, never on the number of workers.
const chunkSize = 1 << 20

// dictSize is deflate's window.
const dictSize = 32 << 10

// parallelGzip writes one gzip member whose deflate stream is made of
// chunks compressed in parallel. Each chunk but the last ends with a sync
// flush (an empty stored block), which byte-aligns it so the chunks can be
// concatenated; the last one ends with the final block. The CRC-32 and
// length of the whole input go in the trailer. Memory use is bounded by
// about 3 chunks per worker.
//
// Input is copied once, into a window buffer that holds the chunk's
// dictionary followed by the chunk; the buffer itself goes to a worker,
// and the next one starts with a copy of its last 32 KiB.
type parallelGzip struct {
	w       io.Writer
	level   int
	params  *dfParams // apkit's encoder with these settings, or klauspost at level
	buf     []byte    // the dictionary, then input not yet handed to a worker
	dict    int       // length of the dictionary at the start of buf
	crc     uint32
	size    uint64
	jobs    chan *gzJob
	results chan *gzJob
	done    chan error
	failed  atomic.Pointer[error]
	pool    sync.Pool // *gzJob
	bufs    sync.Pool // *[]byte window buffers
	err     error
	closed  bool
}

type gzJob struct {
	buf   *[]byte // the dictionary, then the chunk
	start int     // where the chunk starts in buf
	last  bool
	out   bytes.Buffer
	err   error
	ready chan struct{}
}

// newParallelGzip starts a gzip member on w compressed by workers
// goroutines: with apkit's encoder when params is set, else with
// klauspost/compress deflate at level (1-9).
func newParallelGzip(w io.Writer, level int, params *dfParams, workers int) (*parallelGzip, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// FLG 0, MTIME 0, XFL 0, OS 3 (Unix): reproducible.
	if _, err := w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}); err != nil {
		return nil, err
	}
	z := &parallelGzip{
		w:       w,
		level:   level,
		params:  params,
		jobs:    make(chan *gzJob, workers),
		results: make(chan *gzJob, 2*workers),
		done:    make(chan error, 1),
	}
	z.buf = *z.window()
	for range workers {
		go z.work()
	}
	go z.collect()
	return z, nil
}

// window returns an empty window buffer.
func (z *parallelGzip) window() *[]byte {
	if b, ok := z.bufs.Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, dictSize+chunkSize)
	return &b
}

func (z *parallelGzip) work() {
	if z.params != nil {
		d := newDeflater(*z.params)
		for j := range z.jobs {
			out := d.compress(j.out.AvailableBuffer(), *j.buf, j.start, j.last)
			j.out.Write(out)
			close(j.ready)
		}
		return
	}
	var fw *flate.Writer
	for j := range z.jobs {
		dict, in := (*j.buf)[:j.start], (*j.buf)[j.start:]
		if fw == nil {
			fw, j.err = flate.NewWriterDict(&j.out, z.level, dict)
		} else {
			fw.ResetDict(&j.out, dict)
		}
		if j.err == nil {
			_, j.err = fw.Write(in)
		}
		if j.err == nil {
			if j.last {
				j.err = fw.Close()
			} else {
				j.err = fw.Flush()
			}
		}
		close(j.ready)
	}
}

// collect writes finished chunks in order.
func (z *parallelGzip) collect() {
	var err error
	for j := range z.results {
		<-j.ready
		if err == nil {
			err = j.err
		}
		if err == nil {
			_, err = z.w.Write(j.out.Bytes())
		}
		if err != nil {
			z.failed.CompareAndSwap(nil, &err)
		}
		z.release(j)
	}
	z.done <- err
}

func (z *parallelGzip) release(j *gzJob) {
	z.bufs.Put(j.buf)
	j.buf = nil
	j.out.Reset()
	z.pool.Put(j)
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	if z.closed {
		return 0, errors.New("write to closed gzip stream")
	}
	if e := z.failed.Load(); e != nil {
		return 0, *e
	}
	n := len(p)
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
	z.size += uint64(n)
	for len(p) > 0 {
		if len(z.buf)-z.dict == chunkSize {
			z.dispatch(false)
		}
		k := copy(z.buf[len(z.buf):z.dict+chunkSize], p)
		z.buf = z.buf[:len(z.buf)+k]
		p = p[k:]
	}
	return n, nil
}

// dispatch hands the buffered input, with its dictionary, to a worker.
func (z *parallelGzip) dispatch(last bool) {
	j, _ := z.pool.Get().(*gzJob)
	if j == nil {
		j = &gzJob{}
	}
	full := z.buf
	j.buf = &full
	j.start = z.dict
	j.last = last
	// The next chunk's dictionary is the end of this one (and, for a
	// short chunk, of the ones before).
	next := z.window()
	*next = append(*next, full[max(0, len(full)-dictSize):]...)
	z.buf, z.dict = *next, len(*next)
	j.err = nil
	j.ready = make(chan struct{})
	z.results <- j
	z.jobs <- j
}

// Close compresses what is left, writes the trailer and waits for the
// workers. It does not close the underlying writer.
func (z *parallelGzip) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	z.dispatch(true)
	close(z.jobs)
	close(z.results)
	err := <-z.done
	if err == nil {
		var t [8]byte
		binary.LittleEndian.PutUint32(t[:4], z.crc)
		binary.LittleEndian.PutUint32(t[4:], uint32(z.size))
		_, err = z.w.Write(t[:])
	}
	z.err = err
	return err
}
