package install

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
)

// Read-ahead bounds: a file of up to aheadFileSize bytes is read whole,
// as long as no more than aheadBytes of content are held ahead of the
// installer; a larger file is handed over as its stream, and the reader
// waits until the installer has written it.
const (
	aheadFileSize = 64 << 10
	aheadBytes    = 4 << 20
	aheadMessages = 256
)

// errStopped ends a read the installer no longer wants.
var errStopped = errors.New("install stopped")

// A readAhead reads the packages of an install in a goroutine of its own,
// in plan order, while the installer unpacks them: a package's file is
// decompressed, parsed and hashed while the files of the one before are
// being written. Each package comes as a message with its control segment
// (or an error), one message per data entry, and a last message with the
// whole package's checks.
//
// Every check that needs only the package file is made here: its size and
// control identity against the index record, its datahash and each file's
// checksum. The installer acts on what it is told in order, so the root
// sees exactly what the same install one package at a time would do.
type readAhead struct {
	msgs chan aheadMsg
	// held bounds the bytes of content read ahead; stopped is done once
	// the installer stops.
	held    *semaphore.Weighted
	stopped context.Context
	stop    context.CancelFunc
	done    chan struct{}
}

// aheadMsg is one message of a readAhead.
type aheadMsg struct {
	// ctl starts a package: its control segment, checked.
	ctl *apk.Package
	// file is a data entry; content is its content when read ahead,
	// stream when not, and the reader then waits on ack until the
	// installer is done with it.
	file    *apk.File
	content []byte
	buf     *[]byte // content's buffer, to recycle
	stream  io.Reader
	ack     chan struct{}
	// end ends a package, with err the reason it cannot be installed.
	end bool
	err error
}

// startReadAhead starts reading the packages recs, whose files are files,
// in that order.
func startReadAhead(ctx context.Context, recs []*index.Record, files []string) *readAhead {
	ra := &readAhead{
		msgs: make(chan aheadMsg, aheadMessages),
		held: semaphore.NewWeighted(aheadBytes),
		done: make(chan struct{}),
	}
	ra.stopped, ra.stop = context.WithCancel(context.Background())
	go func() {
		defer close(ra.done)
		for i, rec := range recs {
			if ctx.Err() != nil || !ra.readOne(rec, files[i]) {
				return
			}
		}
	}()
	return ra
}

// close stops the reader, if it still runs, and waits for it.
func (ra *readAhead) close() {
	ra.stop()
	<-ra.done
}

// send passes m to the installer, unless it has stopped.
func (ra *readAhead) send(m aheadMsg) error {
	select {
	case ra.msgs <- m:
		return nil
	case <-ra.stopped.Done():
		return errStopped
	}
}

// next returns the next message, or an error message once the reader has
// ended with none left (it stopped early: the context was cancelled).
func (ra *readAhead) next(ctx context.Context) aheadMsg {
	select {
	case m := <-ra.msgs:
		return m
	case <-ra.done:
		select {
		case m := <-ra.msgs:
			return m
		default:
		}
		err := ctx.Err()
		if err == nil {
			err = errors.New("package reader ended early")
		}
		return aheadMsg{end: true, err: err}
	}
}

// release is called by the installer once it is done with the entry of m.
func (ra *readAhead) release(m aheadMsg) {
	if m.content != nil {
		ra.held.Release(int64(len(m.content)))
		recycle(m.buf)
	}
	if m.ack != nil {
		close(m.ack)
	}
}

// Buffers of content read ahead are recycled by size (1 KiB, 2 KiB, ...
// aheadFileSize), rather than left to the collector: fresh memory costs a
// page fault per 4 KiB, more than the content costs to read.
var contentPools [contentClasses]sync.Pool

// contentClasses is the number of sizes: 1 KiB << 6 is aheadFileSize.
const contentClasses = 7

// contentBuffer returns a buffer of n bytes, at most aheadFileSize.
func contentBuffer(n int) *[]byte {
	c := bits.Len(uint(max(n-1, 0)) >> 10)
	if p, _ := contentPools[c].Get().(*[]byte); p != nil {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, 1<<10<<c)
	return &b
}

// recycle gives a buffer from contentBuffer back.
func recycle(p *[]byte) {
	if p != nil {
		contentPools[bits.Len(uint(cap(*p)-1)>>10)].Put(p)
	}
}

// readOne reads one package and reports whether the next should be read.
func (ra *readAhead) readOne(rec *index.Record, file string) bool {
	err := ra.read(rec, file)
	if errors.Is(err, errStopped) {
		return false
	}
	return ra.send(aheadMsg{end: true, err: err}) == nil && err == nil
}

// read reads the package rec from file, sending its control segment and
// entries, and returns why it cannot be installed, if it cannot.
func (ra *readAhead) read(rec *index.Record, file string) error {
	pv := rec.Name + "-" + rec.Version
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("install %s: %w", pv, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return fmt.Errorf("install %s: %w", pv, err)
	} else if rec.Size != 0 && fi.Size() != rec.Size {
		return fmt.Errorf("install %s: %s: %d bytes, index says %d: %w", pv, file, fi.Size(), rec.Size, ErrIdentityMismatch)
	}
	want, err := index.ParseIdentity(rec.Checksum)
	if err != nil {
		return fmt.Errorf("install %s: index record: %w", pv, err)
	}
	var info *apk.PkgInfo
	control := func(ctl *apk.Package) error {
		if !bytes.Equal(ctl.ControlSHA1[:], want) {
			return fmt.Errorf("control checksum %s, index says %s: %w", ctl.ID(), rec.Checksum, ErrIdentityMismatch)
		}
		info = ctl.Info
		if info.Name != rec.Name || info.Version != rec.Version {
			return fmt.Errorf("package is %s-%s: %w", info.Name, info.Version, ErrIdentityMismatch)
		}
		if info.DataHash == "" {
			return fmt.Errorf("no datahash in .PKGINFO: %w", ErrDataMismatch)
		}
		return ra.send(aheadMsg{ctl: ctl})
	}
	data := func(e *apk.File, content io.Reader) error {
		switch {
		case e.Kind != apk.KindRegular:
			return ra.send(aheadMsg{file: e})
		case e.Size == 0:
			return ra.send(aheadMsg{file: e, content: []byte{}})
		case e.Size <= aheadFileSize:
			if ra.held.Acquire(ra.stopped, e.Size) != nil {
				return errStopped
			}
			buf := contentBuffer(int(e.Size))
			_, err := io.ReadFull(content, *buf)
			if err == nil {
				err = ra.send(aheadMsg{file: e, content: *buf, buf: buf})
			}
			if err != nil {
				ra.held.Release(e.Size)
				recycle(buf)
			}
			return err
		default:
			ack := make(chan struct{})
			if err := ra.send(aheadMsg{file: e, stream: content, ack: ack}); err != nil {
				return err
			}
			select {
			case <-ack:
				return nil
			case <-ra.stopped.Done():
				return errStopped
			}
		}
	}
	full, err := apk.Read(f, &apk.ReadOptions{Control: control, Data: data, NoFileList: true})
	if errors.Is(err, errStopped) {
		return err
	}
	if err != nil {
		return fmt.Errorf("install %s: %s: %w", pv, file, err)
	}
	if got := hex.EncodeToString(full.DataSHA256[:]); got != info.DataHash {
		return fmt.Errorf("install %s: %s: data segment sha256 %s, datahash says %s: %w", pv, file, got, info.DataHash, ErrDataMismatch)
	}
	if len(full.Mismatches) > 0 {
		return fmt.Errorf("install %s: %s: %s: %w", pv, file, strings.Join(full.Mismatches, ", "), ErrDataMismatch)
	}
	return nil
}
