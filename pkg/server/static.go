package server

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apkit-dev/apkit/pkg/repo"
)

// IndexName is the name of a repository's signed index, [repo.IndexName].
const IndexName = repo.IndexName

// handleFiles serves files and directory listings under the root. Names
// starting with a dot (the upload staging area, temporary files, locks)
// are never served, and nothing outside the root is reachable, symbolic
// links included.
func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	clean := path.Clean("/" + r.URL.Path)
	name := strings.TrimPrefix(clean, "/")
	if name == "" {
		name = "."
	}
	for _, seg := range strings.Split(name, "/") {
		if seg != "." && strings.HasPrefix(seg, ".") {
			http.NotFound(w, r)
			return
		}
	}
	// Opening a named pipe blocks until a writer comes: look before opening.
	if fi, err := s.root.Stat(name); err != nil || !(fi.IsDir() || fi.Mode().IsRegular()) {
		http.NotFound(w, r)
		return
	}
	if s.hiddenTarget(name) {
		// A symbolic link that leads to a dot-name, such as the upload
		// staging area: as hidden as the name itself.
		http.NotFound(w, r)
		return
	}
	f, err := s.root.Open(name)
	if err != nil {
		// Missing, unreadable, or outside the root: all look the same.
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "stat failed", http.StatusInternalServerError)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, path.Base(clean)+"/", http.StatusMovedPermanently)
			return
		}
		entries, err := f.ReadDir(-1)
		if err != nil {
			http.Error(w, "cannot list directory", http.StatusInternalServerError)
			return
		}
		s.list(w, r, clean, entries)
		return
	}
	if !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", etag(fi))
	h.Set("Content-Type", contentType(fi.Name()))
	if fi.Name() == IndexName {
		// Clients must revalidate the index every time; the ETag changes
		// with every rewrite (a new file, so a new inode), so a 304 is
		// only sent for the very file that is in place.
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	limitRanges(r, fi.Size())
	sw := &sendWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.opts.SendTimeout}
	http.ServeContent(sw, r, fi.Name(), fi.ModTime(), f)
}

// maxRanges is the number of ranges, once merged, that one request may ask
// for; a request for more gets the whole file.
const maxRanges = 16

// rangeGap is how far apart two ranges may be and still be merged: a
// multipart reply spends about as much on each part's headers.
const rangeGap = 80

// limitRanges rewrites the Range header of r, for a file of size bytes,
// so that the reply stays about as small as the file: overlapping,
// adjacent and nearly adjacent ranges are merged, and more than maxRanges
// ranges are dropped in favour of the whole file. A header that does not
// parse, or that no range of satisfies, is left to http.ServeContent.
func limitRanges(r *http.Request, size int64) {
	h := r.Header.Get("Range")
	if h == "" {
		return
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return
	}
	type span struct{ start, end int64 } // inclusive
	var spans []span
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return
		}
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		var sp span
		if a == "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < 0 {
				return
			}
			if n == 0 {
				continue // unsatisfiable
			}
			sp = span{max(size-n, 0), size - 1}
		} else {
			start, err := strconv.ParseInt(a, 10, 64)
			if err != nil || start < 0 {
				return
			}
			end := size - 1
			if b != "" {
				if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
					return
				}
			}
			if start >= size {
				continue // unsatisfiable
			}
			sp = span{start, min(end, size-1)}
		}
		spans = append(spans, sp)
	}
	if len(spans) == 0 {
		return
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start <= last.end+1+rangeGap {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	if len(merged) > maxRanges {
		r.Header.Del("Range")
		return
	}
	parts := make([]string, len(merged))
	for i, sp := range merged {
		parts[i] = strconv.FormatInt(sp.start, 10) + "-" + strconv.FormatInt(sp.end, 10)
	}
	r.Header.Set("Range", "bytes="+strings.Join(parts, ","))
}

// hiddenTarget reports whether the path name of the tree, once its
// symbolic links are resolved, is or lies under a dot-name, or leaves the
// tree.
func (s *Server) hiddenTarget(name string) bool {
	real, err := filepath.EvalSymlinks(filepath.Join(s.realDir, filepath.FromSlash(name)))
	if err != nil {
		return true
	}
	rel, err := filepath.Rel(s.realDir, real)
	if err != nil {
		return true
	}
	for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
		if seg == ".." || (seg != "." && strings.HasPrefix(seg, ".")) {
			return true
		}
	}
	return false
}

// sendWriter gives each write of a reply its own deadline, so a client
// that stops reading a large file releases its connection and handler.
type sendWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *sendWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *sendWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// contentType returns the media type for a served file name.
func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".apk"):
		// mime's table maps .apk to Android packages; Alpine's are opaque bytes.
		return "application/octet-stream"
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".pub"), strings.HasSuffix(name, ".pem"):
		return "application/x-pem-file"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

type listEntry struct {
	Name    string    `json:"name"`
	Dir     bool      `json:"dir"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

// listTemplate is parsed on first use, not at every start of apkit.
var listTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("list").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Index of {{.Path}}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:0 1em 0 0}td.n{text-align:right}</style>
</head><body><h1>Index of {{.Path}}</h1>
<table><tr><th>Name</th><th>Size</th><th>Modified</th></tr>
{{if ne .Path "/"}}<tr><td><a href="../">../</a></td><td></td><td></td></tr>
{{end}}{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Label}}</a></td><td class="n">{{if not .Dir}}{{.Size}}{{end}}</td><td>{{.ModTime.UTC.Format "2006-01-02 15:04:05"}}</td></tr>
{{end}}</table></body></html>
`))
})

// list writes a directory listing: HTML for browsers, JSON when the client
// asks for application/json.
func (s *Server) list(w http.ResponseWriter, r *http.Request, dir string, entries []fs.DirEntry) {
	var out []listEntry
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed while listing
		}
		if !fi.IsDir() && !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, listEntry{Name: e.Name(), Dir: fi.IsDir(), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	w.Header().Set("Cache-Control", "no-cache")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		if out == nil {
			out = []listEntry{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	type row struct {
		listEntry
		Href, Label string
	}
	rows := make([]row, len(out))
	for i, e := range out {
		label := e.Name
		if e.Dir {
			label += "/"
		}
		rows[i] = row{listEntry: e, Href: "./" + pathEscape(e.Name) + map[bool]string{true: "/"}[e.Dir], Label: label}
	}
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	if err := listTemplate().Execute(w, map[string]any{"Path": dir, "Entries": rows}); err != nil {
		s.log.Warn("directory listing", "error", err.Error())
	}
}

// pathEscape escapes a file name for use in a relative link, so that
// names with ':', '?' or '#' stay names.
func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+@=,", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
