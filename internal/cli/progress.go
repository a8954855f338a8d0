package cli

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/source"
)

// newFetchProgress adapts source.Progress to the streams: one animated bar
// per download (size, speed, ETA) when ErrOut is a terminal outside CI,
// plain lines otherwise. Call the returned func once every download is done.
func newFetchProgress(ctx context.Context, io *term.Streams) (source.Progress, func()) {
	if io.Quiet() {
		return &lineProgress{io: io, quiet: true}, func() {}
	}
	if !io.Animate() {
		return &lineProgress{io: io, interval: 15 * time.Second}, func() {}
	}
	// ErrOut wraps the process's stderr, which Animate says is a terminal:
	// draw with cursor movement and size the rows to that terminal.
	cw := cupwriter.New(io.ErrOut, true)
	cw.SetTermFd(int(os.Stderr.Fd()))
	p := mpb.NewWithContext(ctx, mpb.WithConsoleWriter(cw), mpb.WithAutoRefresh(), mpb.WithWidth(32),
		mpb.WithRefreshRate(150*time.Millisecond))
	return &barProgress{io: io, p: p}, p.Wait
}

type barProgress struct {
	io *term.Streams
	p  *mpb.Progress
}

func (b *barProgress) Start(it source.Item) source.Transfer {
	bar := b.p.AddBar(0,
		mpb.PrependDecorators(
			decor.Name(it.Name, decor.WC{C: decor.DindentRight | decor.DextraSpace | decor.DSyncWidth}),
			decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncWidth),
		),
		mpb.AppendDecorators(
			decor.OnComplete(decor.Percentage(decor.WCSyncSpace), "done"),
			decor.OnComplete(decor.AverageSpeed(decor.SizeB1024(0), " % .1f", decor.WCSyncSpace), ""),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_MMSS, decor.WCSyncSpace), ""),
		),
	)
	return &barTransfer{p: b.p, bar: bar, io: b.io, name: it.Name}
}

type barTransfer struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	io   *term.Streams
	name string
}

func (t *barTransfer) Size(total, have int64) {
	if total > 0 {
		t.bar.SetTotal(total, false)
	}
	t.bar.SetCurrent(have)
}

func (t *barTransfer) Add(n int64) { t.bar.IncrInt64(n) }

func (t *barTransfer) Retry(attempt int, err error, wait time.Duration) {
	fmt.Fprintf(t.p, "%s %s: attempt %d failed: %v; retrying in %s\n", t.io.Color("33", "warning:"), t.name, attempt, err, wait.Round(100*time.Millisecond))
}

func (t *barTransfer) Done(err error) {
	if err != nil {
		t.bar.Abort(false)
		return
	}
	t.bar.SetTotal(-1, true)
}

// lineProgress prints a few plain lines per download: its start, a line
// every interval while it lasts, retries, and its end.
type lineProgress struct {
	io       *term.Streams
	quiet    bool
	interval time.Duration
}

func (l *lineProgress) Start(it source.Item) source.Transfer {
	if !l.quiet {
		l.io.Infof("fetching %s from %s", it.Name, it.URL)
	}
	now := time.Now()
	return &lineTransfer{l: l, name: it.Name, start: now, last: now, total: -1}
}

type lineTransfer struct {
	l           *lineProgress
	mu          sync.Mutex
	name        string
	start, last time.Time
	total, have int64
	got         int64 // bytes received in this call
}

func (t *lineTransfer) Size(total, have int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total, t.have = total, have
	if have > 0 && !t.l.quiet {
		t.l.io.Infof("%s: resuming at %s of %s", t.name, humanBytes(have), sizeOrUnknown(total))
	}
}

func (t *lineTransfer) Add(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.have += n
	t.got += n
	if t.l.quiet || t.l.interval <= 0 || time.Since(t.last) < t.l.interval {
		return
	}
	t.last = time.Now()
	if t.total > 0 {
		t.l.io.Infof("%s: %d%% (%s of %s)", t.name, t.have*100/t.total, humanBytes(t.have), humanBytes(t.total))
	} else {
		t.l.io.Infof("%s: %s", t.name, humanBytes(t.have))
	}
}

func (t *lineTransfer) Retry(attempt int, err error, wait time.Duration) {
	t.l.io.Warnf("%s: attempt %d failed: %v; retrying in %s", t.name, attempt, err, wait.Round(100*time.Millisecond))
}

func (t *lineTransfer) Done(err error) {
	if err != nil || t.l.quiet {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := time.Since(t.start)
	speed := float64(t.got) / d.Seconds()
	t.l.io.Infof("fetched %s (%s in %s, %s/s)", t.name, humanBytes(t.have), d.Round(10*time.Millisecond), humanBytes(int64(speed)))
}

func sizeOrUnknown(n int64) string {
	if n < 0 {
		return "unknown size"
	}
	return humanBytes(n)
}
