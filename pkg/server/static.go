package server

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
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
	sw := &sendWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.opts.SendTimeout}
	http.ServeContent(sw, r, fi.Name(), fi.ModTime(), f)
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

var listTemplate = template.Must(template.New("list").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Index of {{.Path}}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:0 1em 0 0}td.n{text-align:right}</style>
</head><body><h1>Index of {{.Path}}</h1>
<table><tr><th>Name</th><th>Size</th><th>Modified</th></tr>
{{if ne .Path "/"}}<tr><td><a href="../">../</a></td><td></td><td></td></tr>
{{end}}{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Label}}</a></td><td class="n">{{if not .Dir}}{{.Size}}{{end}}</td><td>{{.ModTime.UTC.Format "2006-01-02 15:04:05"}}</td></tr>
{{end}}</table></body></html>
`))

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
	if err := listTemplate.Execute(w, map[string]any{"Path": dir, "Entries": rows}); err != nil {
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
