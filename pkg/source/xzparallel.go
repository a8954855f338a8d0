package source

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"runtime"

	"github.com/ulikunitz/xz/lzma"
)

// An xz file written by a multi-threaded xz (the default since xz 5.6)
// holds independent blocks whose sizes its index records. Those blocks
// can be decoded at the same time, each by its own LZMA2 decoder, and
// read out in order. parallelXZ does that for a single-stream file with
// LZMA2-only blocks of bounded size, and reports false for anything else,
// which the sequential decoder then reads.

const (
	xzHeaderSize   = 12
	xzFooterSize   = 12
	maxXZBlockSize = 128 << 20 // larger blocks are left to the sequential decoder
	maxXZBlocks    = 1 << 20
)

var (
	xzMagic       = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	xzFooterMagic = []byte{'Y', 'Z'}
	crc64Table    = crc64.MakeTable(crc64.ECMA)
	errXZCorrupt  = errors.New("xz: corrupt data")
)

type xzBlock struct {
	offset     int64 // of the block header in the file
	unpadded   int64
	uncompSize int64
}

// parallelXZ returns a reader of the decompressed content of the xz file
// r (of size bytes), decoding several blocks at once, or false when the
// file is not of the kind it handles.
func parallelXZ(r io.ReaderAt, size int64) (io.ReadCloser, bool) {
	blocks, checkSize, checkType, ok := xzIndex(r, size)
	if !ok || len(blocks) < 2 {
		return nil, false
	}
	workers := min(max(runtime.GOMAXPROCS(0), 1), 4)
	// sem counts the blocks held in memory, decoding or decoded and not
	// yet read: at most workers of them, so at most workers*maxXZBlockSize
	// bytes, whatever the file says.
	px := &xzParallel{results: make(chan chan xzResult, workers), sem: make(chan struct{}, workers), done: make(chan struct{})}
	go func() {
		defer close(px.results)
		for _, b := range blocks {
			select {
			case px.sem <- struct{}{}:
			case <-px.done:
				return
			}
			res := make(chan xzResult, 1)
			go func() {
				data, err := decodeXZBlock(r, b, checkType, checkSize)
				res <- xzResult{data, err}
			}()
			select {
			case px.results <- res:
			case <-px.done:
				return
			}
		}
	}()
	return px, true
}

type xzResult struct {
	data []byte
	err  error
}

type xzParallel struct {
	results chan chan xzResult
	sem     chan struct{}
	cur     []byte
	err     error
	done    chan struct{}
	closed  bool
}

func (px *xzParallel) Read(p []byte) (int, error) {
	for len(px.cur) == 0 {
		if px.err != nil {
			return 0, px.err
		}
		res, ok := <-px.results
		if !ok {
			px.err = io.EOF
			continue
		}
		r := <-res
		<-px.sem
		if r.err != nil {
			px.err = r.err
			continue
		}
		px.cur = r.data
	}
	n := copy(p, px.cur)
	px.cur = px.cur[n:]
	return n, nil
}

func (px *xzParallel) Close() error {
	if !px.closed {
		px.closed = true
		close(px.done)
	}
	return nil
}

// xzIndex reads the stream footer and index of a single-stream xz file.
func xzIndex(r io.ReaderAt, size int64) (blocks []xzBlock, checkSize int, checkType byte, ok bool) {
	if size < xzHeaderSize+xzFooterSize+8 {
		return nil, 0, 0, false
	}
	var head [xzHeaderSize]byte
	var foot [xzFooterSize]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, 0, 0, false
	}
	if _, err := r.ReadAt(foot[:], size-xzFooterSize); err != nil {
		return nil, 0, 0, false
	}
	if !bytes.Equal(head[:6], xzMagic) || crc32.ChecksumIEEE(head[6:8]) != binary.LittleEndian.Uint32(head[8:12]) {
		return nil, 0, 0, false
	}
	if !bytes.Equal(foot[10:12], xzFooterMagic) || crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[0:4]) ||
		!bytes.Equal(foot[8:10], head[6:8]) || head[6] != 0 {
		return nil, 0, 0, false
	}
	checkType = head[7] & 0x0f
	switch checkType {
	case 0x00:
		checkSize = 0
	case 0x01:
		checkSize = 4
	case 0x04:
		checkSize = 8
	case 0x0a:
		checkSize = 32
	default:
		return nil, 0, 0, false
	}
	indexSize := (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
	indexOff := size - xzFooterSize - indexSize
	if indexOff < xzHeaderSize || indexSize > 64<<20 {
		return nil, 0, 0, false
	}
	index := make([]byte, indexSize)
	if _, err := r.ReadAt(index, indexOff); err != nil {
		return nil, 0, 0, false
	}
	if index[0] != 0 || crc32.ChecksumIEEE(index[:indexSize-4]) != binary.LittleEndian.Uint32(index[indexSize-4:]) {
		return nil, 0, 0, false
	}
	p := index[1 : indexSize-4]
	count, p, ok := uvarint(p)
	if !ok || count > maxXZBlocks {
		return nil, 0, 0, false
	}
	off := int64(xzHeaderSize)
	for range count {
		var unpadded, uncomp uint64
		if unpadded, p, ok = uvarint(p); !ok {
			return nil, 0, 0, false
		}
		if uncomp, p, ok = uvarint(p); !ok {
			return nil, 0, 0, false
		}
		if unpadded == 0 || unpadded > 1<<40 || uncomp > maxXZBlockSize {
			return nil, 0, 0, false
		}
		blocks = append(blocks, xzBlock{offset: off, unpadded: int64(unpadded), uncompSize: int64(uncomp)})
		off += (int64(unpadded) + 3) &^ 3
	}
	for _, b := range p {
		if b != 0 { // index padding
			return nil, 0, 0, false
		}
	}
	if off != indexOff { // padding or another stream: not this decoder's job
		return nil, 0, 0, false
	}
	return blocks, checkSize, checkType, true
}

// decodeXZBlock decodes one block and verifies its size and check.
func decodeXZBlock(r io.ReaderAt, b xzBlock, checkType byte, checkSize int) ([]byte, error) {
	var first [1]byte
	if _, err := r.ReadAt(first[:], b.offset); err != nil {
		return nil, err
	}
	hsize := (int64(first[0]) + 1) * 4
	if first[0] == 0 || hsize > b.unpadded {
		return nil, errXZCorrupt
	}
	h := make([]byte, hsize)
	if _, err := r.ReadAt(h, b.offset); err != nil {
		return nil, err
	}
	if crc32.ChecksumIEEE(h[:hsize-4]) != binary.LittleEndian.Uint32(h[hsize-4:]) {
		return nil, errXZCorrupt
	}
	flags := h[1]
	if flags&0x3c != 0 || flags&0x03 != 0 { // reserved bits, or more than one filter
		return nil, fmt.Errorf("xz: unsupported block filters")
	}
	p := h[2 : hsize-4]
	compSize := b.unpadded - hsize - int64(checkSize)
	var v uint64
	var ok bool
	if flags&0x40 != 0 {
		if v, p, ok = uvarint(p); !ok || int64(v) != compSize {
			return nil, errXZCorrupt
		}
	}
	if flags&0x80 != 0 {
		if v, p, ok = uvarint(p); !ok || int64(v) != b.uncompSize {
			return nil, errXZCorrupt
		}
	}
	id, p, ok := uvarint(p)
	if !ok || id != 0x21 {
		return nil, fmt.Errorf("xz: unsupported block filter %#x", id)
	}
	plen, p, ok := uvarint(p)
	if !ok || plen != 1 || len(p) < 1 || p[0] > 40 {
		return nil, errXZCorrupt
	}
	dictCap := int64(0xffffffff)
	if p[0] < 40 {
		dictCap = int64(2|(p[0]&1)) << (p[0]/2 + 11)
	}
	// A block cannot refer back past its own start: a dictionary of the
	// block's size is enough, whatever the header asks for.
	dictCap = max(min(dictCap, b.uncompSize), lzma.MinDictCap)
	if compSize <= 0 {
		return nil, errXZCorrupt
	}
	dec, err := lzma.Reader2Config{DictCap: int(dictCap)}.NewReader2(bufio.NewReaderSize(io.NewSectionReader(r, b.offset+hsize, compSize), 256<<10))
	if err != nil {
		return nil, err
	}
	out := make([]byte, b.uncompSize)
	if _, err := io.ReadFull(dec, out); err != nil {
		return nil, fmt.Errorf("xz: %w", err)
	}
	if n, err := dec.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return nil, errXZCorrupt // more data than the index says
	}
	check := make([]byte, checkSize)
	if _, err := r.ReadAt(check, b.offset+((hsize+compSize+3)&^3)); err != nil {
		return nil, err
	}
	var sum hash.Hash
	switch checkType {
	case 0x01:
		sum = crc32.NewIEEE()
	case 0x04:
		sum = crc64.New(crc64Table)
	case 0x0a:
		sum = sha256.New()
	}
	if sum != nil {
		sum.Write(out)
		got := sum.Sum(nil)
		if checkType != 0x0a { // CRCs are stored little-endian
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
		}
		if !bytes.Equal(got, check) {
			return nil, fmt.Errorf("xz: block check failed")
		}
	}
	return out, nil
}

// uvarint decodes an xz multibyte integer (at most 9 bytes).
func uvarint(p []byte) (uint64, []byte, bool) {
	var v uint64
	for i := 0; i < 9 && i < len(p); i++ {
		v |= uint64(p[i]&0x7f) << (7 * i)
		if p[i]&0x80 == 0 {
			if i > 0 && p[i] == 0 {
				return 0, nil, false // not the shortest form
			}
			return v, p[i+1:], true
		}
	}
	return 0, nil, false
}
