package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// durationBuckets are the histogram bounds, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func (h *histogram) observe(v float64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(durationBuckets))
	}
	for i, b := range durationBuckets {
		if v <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += v
	h.n++
}

// metrics holds the server's counters. Its methods are safe for concurrent use.
type metrics struct {
	mu        sync.Mutex
	requests  map[[2]string]uint64 // handler, code
	uploads   map[string]uint64    // code
	packages  uint64
	bytes     uint64
	inflight  int64
	uploadDur histogram
	addDur    histogram
	start     time.Time
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, uploads: map[string]uint64{}, start: time.Now()}
}

func (m *metrics) request(handler string, code int) {
	m.mu.Lock()
	m.requests[[2]string{handler, strconv.Itoa(code)}]++
	m.mu.Unlock()
}

func (m *metrics) upload(code int, d time.Duration, packages int, bytes int64) {
	m.mu.Lock()
	m.uploads[strconv.Itoa(code)]++
	m.uploadDur.observe(d.Seconds())
	if code == http.StatusOK {
		m.packages += uint64(packages)
		m.bytes += uint64(bytes)
	}
	m.mu.Unlock()
}

func (m *metrics) indexUpdate(d time.Duration) {
	m.mu.Lock()
	m.addDur.observe(d.Seconds())
	m.mu.Unlock()
}

func (m *metrics) addInflight(n int64) {
	m.mu.Lock()
	m.inflight += n
	m.mu.Unlock()
}

// write renders the metrics in the Prometheus text exposition format 0.0.4.
func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP apkit_http_requests_total HTTP requests by handler and status code.\n")
	b.WriteString("# TYPE apkit_http_requests_total counter\n")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "apkit_http_requests_total{handler=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	b.WriteString("# HELP apkit_uploads_total Upload requests by status code.\n")
	b.WriteString("# TYPE apkit_uploads_total counter\n")
	codes := make([]string, 0, len(m.uploads))
	for c := range m.uploads {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(&b, "apkit_uploads_total{code=%q} %d\n", c, m.uploads[c])
	}
	b.WriteString("# HELP apkit_packages_added_total Packages added to repositories.\n")
	b.WriteString("# TYPE apkit_packages_added_total counter\n")
	fmt.Fprintf(&b, "apkit_packages_added_total %d\n", m.packages)
	b.WriteString("# HELP apkit_upload_bytes_total Bytes of packages added.\n")
	b.WriteString("# TYPE apkit_upload_bytes_total counter\n")
	fmt.Fprintf(&b, "apkit_upload_bytes_total %d\n", m.bytes)
	b.WriteString("# HELP apkit_uploads_in_flight Upload requests being handled.\n")
	b.WriteString("# TYPE apkit_uploads_in_flight gauge\n")
	fmt.Fprintf(&b, "apkit_uploads_in_flight %d\n", m.inflight)
	writeHistogram(&b, "apkit_upload_duration_seconds", "Time to handle an upload request.", &m.uploadDur)
	writeHistogram(&b, "apkit_index_update_duration_seconds", "Time from handing packages to the repository to their signed index being in place, waiting for other updates included.", &m.addDur)
	b.WriteString("# HELP apkit_start_time_seconds When the server started, in Unix time.\n")
	b.WriteString("# TYPE apkit_start_time_seconds gauge\n")
	fmt.Fprintf(&b, "apkit_start_time_seconds %d\n", m.start.Unix())
	io.WriteString(w, b.String())
}

func writeHistogram(b *strings.Builder, name, help string, h *histogram) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum uint64
	for i, bound := range durationBuckets {
		if h.counts != nil {
			cum += h.counts[i]
		}
		fmt.Fprintf(b, "%s_bucket{le=%q} %d\n", name, strconv.FormatFloat(bound, 'g', -1, 64), cum)
	}
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n", name, h.n)
	fmt.Fprintf(b, "%s_sum %s\n", name, strconv.FormatFloat(h.sum, 'g', -1, 64))
	fmt.Fprintf(b, "%s_count %d\n", name, h.n)
}

// statusWriter records the status code a handler sent.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts requests and logs each one (never its headers, which
// may hold a token).
func (s *Server) instrument(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.metrics.request(name, sw.code)
		s.log.LogAttrs(r.Context(), levelFor(sw.code), "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.code), slog.String("remote", r.RemoteAddr),
			slog.Duration("duration", s.opts.Now().Sub(start)))
	})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	s.metrics.write(w)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if _, err := s.root.Stat("."); err != nil {
		replyJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "repository directory is not readable"})
		return
	}
	replyJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
