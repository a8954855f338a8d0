package apk

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// This file holds apkit's own deflate encoder (RFC 1951), used for
// LevelDefault and LevelBest: zlib's lazy matching, with hash chains of
// 4-byte strings plus a table of the last place of each 3-byte string, so
// the short matches that 4-byte-only encoders miss are found without
// walking long chains of poor candidates, and Huffman blocks chosen by size
// among dynamic, fixed and stored. It
// compresses one chunk at a time with the 32 KiB before it as dictionary,
// so chunks can be compressed in parallel (see parallelGzip).

const (
	dfMinMatch   = 3
	dfMaxMatch   = 258
	dfWindow     = 1 << 15
	dfWindowMask = dfWindow - 1
	dfHashBits   = 16
	dfHash3Bits  = 14
	dfTooFar     = 4096 // a 3-byte match further than this is not worth it
	dfEOB        = 256
	dfNumLit     = 286
	dfNumDist    = 30
	dfMaxBits    = 15
	dfMaxStored  = 65535
	dfBlockSyms  = 1 << 13 // symbols per block: smaller blocks follow the data's statistics
	dfMatchFlag  = 1 << 31
	dfDistShift  = 8
	dfLenMask    = 0xff
	dfCodeLenMax = 7
)

// dfParams are zlib's tuning knobs.
type dfParams struct {
	good, lazy, nice, chain int
}

var (
	lengthCode  [256]uint8 // match length - 3 -> length symbol - 257
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	distCodeLo  [256]uint8 // distance - 1 < 256
	distCodeHi  [256]uint8 // (distance - 1) >> 7, for distance - 1 >= 256

	fixedLitLen  [288]uint8
	fixedDistLen [30]uint8
	fixedLit     [288]uint16
	fixedDist    [30]uint16

	codeLenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func init() {
	for code := 0; code < 29; code++ {
		for l := int(lengthBase[code]); l < int(lengthBase[code])+1<<lengthExtra[code] && l <= dfMaxMatch; l++ {
			lengthCode[l-3] = uint8(code)
		}
	}
	lengthCode[dfMaxMatch-3] = 28
	for code := 0; code < 30; code++ {
		for d := distBase[code]; d < distBase[code]+1<<distExtra[code]; d++ {
			if d-1 < 256 {
				distCodeLo[d-1] = uint8(code)
			} else {
				distCodeHi[(d-1)>>7] = uint8(code)
			}
		}
	}
	for i := range fixedLitLen {
		switch {
		case i < 144:
			fixedLitLen[i] = 8
		case i < 256:
			fixedLitLen[i] = 9
		case i < 280:
			fixedLitLen[i] = 7
		default:
			fixedLitLen[i] = 8
		}
	}
	for i := range fixedDistLen {
		fixedDistLen[i] = 5
	}
	canonical(fixedLitLen[:], fixedLit[:])
	canonical(fixedDistLen[:], fixedDist[:])
}

func distCode(d uint32) uint8 {
	if d < 256 {
		return distCodeLo[d]
	}
	return distCodeHi[d>>7]
}

// bitWriter writes bits least significant first, as deflate wants.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

// put writes the nb low bits of v; nb is at most 32.
func (w *bitWriter) put(v uint64, nb uint) {
	w.acc |= v << w.n
	w.n += nb
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// align pads to a byte boundary.
func (w *bitWriter) align() {
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		if w.n < 8 {
			w.n = 0
		} else {
			w.n -= 8
		}
	}
	w.acc = 0
}

// deflater compresses chunks; one per worker goroutine.
type deflater struct {
	p     dfParams
	buf   []byte
	head  []int32
	head3 []int32
	prev  []int32
	syms  []uint32
	bw    bitWriter
	lit   [dfNumLit]uint32
	dist  [dfNumDist]uint32
	hlen  huffScratch
	// lenTab is the current block's code for each match length - 3.
	lenTab [256]uint32
	block  int // start in buf of the raw bytes of the current block
}

func newDeflater(p dfParams) *deflater {
	return &deflater{p: p, head: make([]int32, 1<<dfHashBits), syms: make([]uint32, 0, dfBlockSyms)}
}

// dfHash4v hashes the 4 bytes v (little-endian) for the chains.
func dfHash4v(v uint32) uint32 {
	return (v * 2654435761) >> (32 - dfHashBits)
}

// dfHash3v hashes the first 3 bytes of v for the 3-byte table.
func dfHash3v(v uint32) uint32 {
	return ((v & 0xffffff) * 2246822519) >> (32 - dfHash3Bits)
}

// dfHash3 hashes the 3 bytes at b, the same as dfHash3v.
func dfHash3(b []byte) uint32 {
	_ = b[2]
	return dfHash3v(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16)
}

// compress appends to out the deflate blocks for window[start:], with
// window[:start] as the dictionary before it. The last chunk ends with a
// final block; the others end with an empty stored block, byte-aligned,
// so that chunks concatenate.
func (d *deflater) compress(out []byte, window []byte, start int, final bool) []byte {
	d.buf = window
	buf := d.buf
	n := len(buf)
	if d.prev == nil {
		d.prev = make([]int32, dfWindow)
	}
	prev := d.prev[:dfWindow]
	head := d.head
	for i := range head {
		head[i] = -1
	}
	d.bw = bitWriter{out: out}
	d.syms = d.syms[:0]
	clear(d.lit[:])
	clear(d.dist[:])
	d.block = start
	// Positions from which a 3-byte (and a 4-byte) string can be hashed.
	last := n - dfMinMatch
	last4 := n - 4
	if d.head3 == nil {
		d.head3 = make([]int32, 1<<dfHash3Bits)
	}
	head3 := d.head3
	for i := range head3 {
		head3[i] = -1
	}
	// Every position goes into the 3-byte table and, when 4 bytes follow,
	// into the 4-byte chains.
	for pos := 0; pos < start && pos <= last; pos++ {
		if pos > last4 {
			head3[dfHash3(buf[pos:])] = int32(pos)
			continue
		}
		v := binary.LittleEndian.Uint32(buf[pos:])
		head3[dfHash3v(v)] = int32(pos)
		h := dfHash4v(v)
		prev[pos&dfWindowMask] = head[h]
		head[h] = int32(pos)
	}

	p := d.p
	prevLen, prevDist := dfMinMatch-1, 0
	available := false
	pos := start
	for pos < n {
		matchLen, matchPos := dfMinMatch-1, -1
		if pos <= last {
			var c3, cur int
			if pos <= last4 {
				v := binary.LittleEndian.Uint32(buf[pos:])
				h3 := dfHash3v(v)
				c3 = int(head3[h3])
				head3[h3] = int32(pos)
				h := dfHash4v(v)
				cur = int(head[h])
				prev[pos&dfWindowMask] = int32(cur)
				head[h] = int32(pos)
			} else {
				h3 := dfHash3(buf[pos:])
				c3 = int(head3[h3])
				head3[h3] = int32(pos)
				cur = -1
			}
			if prevLen < p.lazy {
				if c3 >= 0 && pos-c3 <= dfTooFar && prevLen < dfMinMatch {
					if m := buf[c3:]; m[0] == buf[pos] && m[1] == buf[pos+1] && m[2] == buf[pos+2] {
						matchLen, matchPos = matchLength(m, buf[pos:], min(dfMaxMatch, n-pos)), c3
					}
				}
				if cur >= 0 && pos-cur < dfWindow {
					l, mp := d.longest(pos, cur, max(prevLen, matchLen))
					if mp >= 0 {
						matchLen, matchPos = l, mp
					}
				}
				if matchLen <= prevLen {
					matchLen = dfMinMatch - 1
				}
				if matchLen == dfMinMatch && pos-matchPos > dfTooFar {
					matchLen = dfMinMatch - 1
				}
			}
		}
		switch {
		case prevLen >= dfMinMatch && matchLen <= prevLen:
			d.match(prevLen, prevDist)
			end := pos - 1 + prevLen
			for q := pos + 1; q < end && q <= last; q++ {
				if q > last4 {
					head3[dfHash3(buf[q:])] = int32(q)
					continue
				}
				v := binary.LittleEndian.Uint32(buf[q:])
				head3[dfHash3v(v)] = int32(q)
				h := dfHash4v(v)
				prev[q&dfWindowMask] = head[h]
				head[h] = int32(q)
			}
			pos = end
			available = false
			prevLen = dfMinMatch - 1
			if len(d.syms) >= dfBlockSyms {
				d.flushBlock(pos, false)
			}
		case available:
			d.literal(buf[pos-1])
			if len(d.syms) >= dfBlockSyms {
				d.flushBlock(pos, false)
			}
			prevLen, prevDist = matchLen, pos-matchPos
			pos++
		default:
			available = true
			prevLen, prevDist = matchLen, pos-matchPos
			pos++
		}
	}
	if available {
		d.literal(buf[n-1])
	}
	d.flushBlock(n, final)
	if !final {
		// An empty stored block: a byte-aligned end the next chunk can follow.
		d.bw.put(0, 3)
		d.bw.align()
		d.bw.out = append(d.bw.out, 0, 0, 0xff, 0xff)
	} else {
		d.bw.align()
	}
	d.buf = nil // the window is the caller's again
	return d.bw.out
}

// longest finds the longest match for pos among the chain from cur that is
// longer than best; it returns best and -1 when there is none.
func (d *deflater) longest(pos, cur, best int) (int, int) {
	buf := d.buf
	maxLen := min(dfMaxMatch, len(buf)-pos)
	if best >= maxLen {
		return best, -1
	}
	chain := d.p.chain
	if best >= d.p.good {
		chain >>= 2
	}
	nice := min(d.p.nice, maxLen)
	// Candidates must be after limit: prev holds the last window only.
	limit := max(pos-dfWindow, -1)
	bestPos := -1
	prev := d.prev
	scan := buf[pos : pos+maxLen]
	if maxLen < 8 {
		for cur > limit && chain > 0 {
			m := buf[cur : cur+maxLen]
			if l := matchLength(m, scan, maxLen); l > best {
				best, bestPos = l, cur
				if l >= nice {
					break
				}
			}
			next := int(prev[cur&dfWindowMask])
			if next >= cur {
				break
			}
			cur = next
			chain--
		}
		return best, bestPos
	}
	s8 := binary.LittleEndian.Uint64(scan)
	// A candidate can only beat best if it agrees with scan on the 4 bytes
	// ending at scan[best] (on the first 3 while best is 2).
	off, mask := 0, uint32(0xffffff)
	if best >= 3 {
		off, mask = best-3, 0xffffffff
	}
	tail := binary.LittleEndian.Uint32(scan[off:]) & mask
	for cur > limit && chain > 0 {
		m := buf[cur : cur+maxLen]
		if binary.LittleEndian.Uint32(m[off:])&mask == tail {
			var l int
			if x := binary.LittleEndian.Uint64(m) ^ s8; x != 0 {
				l = bits.TrailingZeros64(x) >> 3
			} else {
				l = 8 + matchLength(m[8:], scan[8:], maxLen-8)
			}
			if l > best {
				best, bestPos = l, cur
				if l >= nice {
					break
				}
				off, mask = best-3, 0xffffffff
				tail = binary.LittleEndian.Uint32(scan[off:])
			}
		}
		next := int(prev[cur&dfWindowMask])
		if next >= cur {
			break
		}
		cur = next
		chain--
	}
	return best, bestPos
}

// matchLength returns how many of the first max bytes of a and b agree.
func matchLength(a, b []byte, max int) int {
	n := 0
	for n+8 <= max {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < max && a[n] == b[n] {
		n++
	}
	return n
}

func (d *deflater) literal(c byte) {
	d.syms = append(d.syms, uint32(c))
	d.lit[c]++
}

func (d *deflater) match(length, dist int) {
	d.syms = append(d.syms, dfMatchFlag|uint32(dist-1)<<dfDistShift|uint32(length-dfMinMatch))
	d.lit[257+int(lengthCode[length-dfMinMatch])]++
	d.dist[distCode(uint32(dist-1))]++
}

// huffScratch holds the code tables of one block.
type huffScratch struct {
	litLen  [dfNumLit]uint8
	distLen [dfNumDist]uint8
	litCode [dfNumLit]uint16
	dstCode [dfNumDist]uint16
	clLen   [19]uint8
	clCode  [19]uint16
	rle     []uint16 // code-length symbols, with their extra bits in the high byte
	nodes   []hnode
	order   []int
	keys    []uint64
	weights [dfNumLit]uint64
	depth   [2 * dfNumLit]uint8
}

// flushBlock writes the pending symbols (the raw bytes buf[d.block:end])
// as the smallest of a dynamic, fixed or stored block.
func (d *deflater) flushBlock(end int, final bool) {
	d.lit[dfEOB]++
	h := &d.hlen
	buildLengths(d.lit[:], h.litLen[:], dfMaxBits, h)
	buildLengths(d.dist[:], h.distLen[:], dfMaxBits, h)
	// At least one distance code, as zlib writes.
	nd := 0
	for _, l := range h.distLen {
		if l > 0 {
			nd++
		}
	}
	if nd < 2 {
		for i := 0; i < 2 && nd < 2; i++ {
			if h.distLen[i] == 0 {
				h.distLen[i] = 1
				nd++
			}
		}
		// Lengths 1 for two codes make a complete code only when no other
		// code is used; otherwise rebuild with those two counted.
		if countNonZero(h.distLen[:]) > 2 || !complete(h.distLen[:]) {
			var f [dfNumDist]uint32
			copy(f[:], d.dist[:])
			for i := range f {
				if h.distLen[i] > 0 && f[i] == 0 {
					f[i] = 1
				}
			}
			buildLengths(f[:], h.distLen[:], dfMaxBits, h)
		}
	}
	numLit := dfNumLit
	for numLit > 257 && h.litLen[numLit-1] == 0 {
		numLit--
	}
	numDist := dfNumDist
	for numDist > 1 && h.distLen[numDist-1] == 0 {
		numDist--
	}
	// Code-length symbols for the header.
	h.rle = h.rle[:0]
	var clFreq [19]uint32
	lens := make([]uint8, 0, numLit+numDist)
	lens = append(append(lens, h.litLen[:numLit]...), h.distLen[:numDist]...)
	for i := 0; i < len(lens); {
		l := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				k := min(run, 138)
				h.rle = append(h.rle, 18|uint16(k-11)<<8)
				clFreq[18]++
				run -= k
			}
			if run >= 3 {
				h.rle = append(h.rle, 17|uint16(run-3)<<8)
				clFreq[17]++
				run = 0
			}
		} else {
			h.rle = append(h.rle, uint16(l))
			clFreq[l]++
			run--
			for run >= 3 {
				k := min(run, 6)
				h.rle = append(h.rle, 16|uint16(k-3)<<8)
				clFreq[16]++
				run -= k
			}
		}
		for ; run > 0; run-- {
			h.rle = append(h.rle, uint16(l))
			clFreq[l]++
		}
	}
	buildLengths(clFreq[:], h.clLen[:], dfCodeLenMax, h)
	numCL := 19
	for numCL > 4 && h.clLen[codeLenOrder[numCL-1]] == 0 {
		numCL--
	}

	// Sizes in bits.
	var extra uint64
	for c := 0; c < 29; c++ {
		extra += uint64(d.lit[257+c]) * uint64(lengthExtra[c])
	}
	for c := 0; c < dfNumDist; c++ {
		extra += uint64(d.dist[c]) * uint64(distExtra[c])
	}
	dyn := uint64(3+5+5+4+3*numCL) + extra
	for _, s := range h.rle {
		sym := s & 0xff
		dyn += uint64(h.clLen[sym])
		switch sym {
		case 16:
			dyn += 2
		case 17:
			dyn += 3
		case 18:
			dyn += 7
		}
	}
	fixed := uint64(3) + extra
	for i, f := range d.lit {
		dyn += uint64(f) * uint64(h.litLen[i])
		fixed += uint64(f) * uint64(fixedLitLen[i])
	}
	for i, f := range d.dist {
		dyn += uint64(f) * uint64(h.distLen[i])
		fixed += uint64(f) * uint64(fixedDistLen[i])
	}
	raw := end - d.block
	stored := uint64(raw)*8 + uint64((raw+dfMaxStored-1)/dfMaxStored+1)*(32+3+7)

	bw := &d.bw
	var fin uint64
	if final {
		fin = 1
	}
	switch {
	case stored < dyn && stored < fixed:
		data := d.buf[d.block:end]
		for {
			k := min(len(data), dfMaxStored)
			last := k == len(data)
			if last {
				bw.put(fin, 3)
			} else {
				bw.put(0, 3)
			}
			bw.align()
			bw.out = binary.LittleEndian.AppendUint16(bw.out, uint16(k))
			bw.out = binary.LittleEndian.AppendUint16(bw.out, ^uint16(k))
			bw.out = append(bw.out, data[:k]...)
			data = data[k:]
			if last {
				break
			}
		}
	case fixed <= dyn:
		bw.put(fin|1<<1, 3)
		d.writeSymbols(fixedLitLen[:], fixedLit[:], fixedDistLen[:], fixedDist[:])
	default:
		canonical(h.litLen[:], h.litCode[:])
		canonical(h.distLen[:], h.dstCode[:])
		canonical(h.clLen[:], h.clCode[:])
		bw.put(fin|2<<1, 3)
		bw.put(uint64(numLit-257), 5)
		bw.put(uint64(numDist-1), 5)
		bw.put(uint64(numCL-4), 4)
		for i := 0; i < numCL; i++ {
			bw.put(uint64(h.clLen[codeLenOrder[i]]), 3)
		}
		for _, s := range h.rle {
			sym := s & 0xff
			bw.put(uint64(h.clCode[sym]), uint(h.clLen[sym]))
			switch sym {
			case 16:
				bw.put(uint64(s>>8), 2)
			case 17:
				bw.put(uint64(s>>8), 3)
			case 18:
				bw.put(uint64(s>>8), 7)
			}
		}
		d.writeSymbols(h.litLen[:], h.litCode[:], h.distLen[:], h.dstCode[:])
	}
	d.syms = d.syms[:0]
	clear(d.lit[:])
	clear(d.dist[:])
	d.block = end
}

// writeSymbols writes the pending symbols and the end of block.
func (d *deflater) writeSymbols(litLen []uint8, litCode []uint16, distLen []uint8, distCodes []uint16) {
	bw := &d.bw
	// Each match length's code and extra bits, with their bit count in
	// the top byte, looked up once per block rather than per match.
	lt := &d.lenTab
	for l := range lt {
		lc := lengthCode[l]
		nb := uint32(litLen[257+int(lc)])
		lt[l] = (uint32(litCode[257+int(lc)]) | uint32(l+dfMinMatch-int(lengthBase[lc]))<<nb) | (nb+uint32(lengthExtra[lc]))<<24
	}
	// The bit accumulator lives in locals for the loop; each step adds at
	// most 28 bits to fewer than 32 pending ones.
	out, acc, n := bw.out, bw.acc, bw.n
	for _, s := range d.syms {
		if s&dfMatchFlag == 0 {
			acc |= uint64(litCode[s]) << n
			n += uint(litLen[s])
		} else {
			le := lt[s&dfLenMask]
			acc |= uint64(le&0xffffff) << n
			n += uint(le >> 24)
			if n >= 32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(acc))
				acc >>= 32
				n -= 32
			}
			dist := (s &^ dfMatchFlag) >> dfDistShift
			dc := distCode(dist)
			dl := uint(distLen[dc])
			acc |= (uint64(distCodes[dc]) | uint64(dist+1-distBase[dc])<<dl) << n
			n += dl + uint(distExtra[dc])
		}
		if n >= 32 {
			out = binary.LittleEndian.AppendUint32(out, uint32(acc))
			acc >>= 32
			n -= 32
		}
	}
	bw.out, bw.acc, bw.n = out, acc, n
	bw.put(uint64(litCode[dfEOB]), uint(litLen[dfEOB]))
}

func countNonZero(l []uint8) int {
	n := 0
	for _, v := range l {
		if v > 0 {
			n++
		}
	}
	return n
}

// complete reports whether code lengths l make a complete prefix code.
func complete(l []uint8) bool {
	var k uint64
	for _, v := range l {
		if v > 0 {
			k += 1 << (dfMaxBits - v)
		}
	}
	return k == 1<<dfMaxBits
}

type hnode struct {
	w           uint64
	left, right int32 // children; -1 for a leaf
	sym         int32
}

// buildLengths sets lengths[i] to the Huffman code length of symbol i for
// the frequencies freq, at most maxBits long. A single used symbol gets
// length 1. When the Huffman code is too deep, the frequencies are
// flattened and the code rebuilt, which keeps it complete.
func buildLengths(freq []uint32, lengths []uint8, maxBits int, h *huffScratch) {
	clear(lengths)
	h.order = h.order[:0]
	for i, f := range freq {
		if f > 0 {
			h.order = append(h.order, i)
		}
	}
	switch len(h.order) {
	case 0:
		return
	case 1:
		lengths[h.order[0]] = 1
		return
	}
	w := h.weights[:len(freq)]
	for i, f := range freq {
		w[i] = uint64(f)
	}
	for {
		// Sort by weight, then symbol: one key holds both.
		order := h.order
		keys := h.keys[:0]
		for _, sym := range order {
			keys = append(keys, w[sym]<<9|uint64(sym))
		}
		slices.Sort(keys)
		for i, k := range keys {
			order[i] = int(k & (1<<9 - 1))
		}
		h.keys = keys
		nodes := h.nodes[:0]
		for _, s := range order {
			nodes = append(nodes, hnode{w: w[s], left: -1, right: -1, sym: int32(s)})
		}
		nl := len(nodes)
		// Two queues: leaves in nodes[:nl], internal nodes appended after.
		li, ii := 0, nl
		pick := func() int32 {
			if li < nl && (ii >= len(nodes) || nodes[li].w <= nodes[ii].w) {
				li++
				return int32(li - 1)
			}
			ii++
			return int32(ii - 1)
		}
		for k := 0; k < nl-1; k++ {
			a := pick()
			b := pick()
			nodes = append(nodes, hnode{w: nodes[a].w + nodes[b].w, left: a, right: b, sym: -1})
		}
		h.nodes = nodes
		// Depths, from the root down (children come before parents).
		depth := h.depth[:len(nodes)]
		clear(depth)
		maxDepth := 0
		for i := len(nodes) - 1; i >= nl; i-- {
			nd := nodes[i]
			depth[nd.left] = depth[i] + 1
			depth[nd.right] = depth[i] + 1
		}
		for i := 0; i < nl; i++ {
			maxDepth = max(maxDepth, int(depth[i]))
		}
		if maxDepth <= maxBits {
			for i := 0; i < nl; i++ {
				lengths[nodes[i].sym] = depth[i]
			}
			return
		}
		for _, s := range order {
			w[s] = max(1, w[s]>>1)
		}
	}
}

// canonical assigns deflate's canonical codes to lengths, bit-reversed for
// writing least significant bit first.
func canonical(lengths []uint8, codes []uint16) {
	var count [dfMaxBits + 1]uint16
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [dfMaxBits + 1]uint16
	code := uint16(0)
	for b := 1; b <= dfMaxBits; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for i, l := range lengths {
		if l == 0 {
			codes[i] = 0
			continue
		}
		codes[i] = bits.Reverse16(next[l]) >> (16 - l)
		next[l]++
	}
}
