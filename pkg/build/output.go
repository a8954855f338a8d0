package build

import (
	"bytes"
	"io"
	"sync"
)

// tailBuffer keeps the last n lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	n     int
	lines [][]byte
	part  []byte
}

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{n: n} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data := p
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			t.part = append(t.part, data...)
			if len(t.part) > 4096 {
				t.part = t.part[len(t.part)-4096:]
			}
			break
		}
		line := append(t.part, data[:i]...)
		t.part = nil
		t.lines = append(t.lines, append([]byte(nil), line...))
		if len(t.lines) > t.n {
			t.lines = t.lines[len(t.lines)-t.n:]
		}
		data = data[i+1:]
	}
	return len(p), nil
}

// Lines returns the kept lines (a partial last line included).
func (t *tailBuffer) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, l := range t.lines {
		out = append(out, string(l))
	}
	if len(t.part) > 0 {
		out = append(out, string(t.part))
	}
	if len(out) > t.n {
		out = out[len(out)-t.n:]
	}
	return out
}

// Reset forgets everything written so far.
func (t *tailBuffer) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines, t.part = nil, nil
}

// lockedWriter serialises writes from the process's stdout and stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
