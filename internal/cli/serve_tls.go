package cli

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// tlsFiles serves the certificate in a crt/key file pair and loads it
// again when the files change, so that a renewed certificate is used
// without a restart. A pair that does not load keeps the last good one.
type tlsFiles struct {
	crt, key string
	log      *slog.Logger
	interval time.Duration // how often the files are looked at

	mu      sync.Mutex
	cert    *tls.Certificate
	mod     [2]time.Time
	checked time.Time
}

// loadTLSFiles loads the pair; log (nil: none) hears about reloads.
func loadTLSFiles(crt, key string, log *slog.Logger) (*tlsFiles, error) {
	f := &tlsFiles{crt: crt, key: key, log: log, interval: time.Minute}
	mod, err := f.modTimes()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, err
	}
	f.cert, f.mod, f.checked = &cert, mod, time.Now()
	return f, nil
}

func (f *tlsFiles) modTimes() ([2]time.Time, error) {
	var mod [2]time.Time
	for i, p := range []string{f.crt, f.key} {
		st, err := os.Stat(p)
		if err != nil {
			return mod, err
		}
		mod[i] = st.ModTime()
	}
	return mod, nil
}

// getCertificate is the tls.Config.GetCertificate of the server.
func (f *tlsFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if now.Sub(f.checked) < f.interval {
		return f.cert, nil
	}
	f.checked = now
	mod, err := f.modTimes()
	if err != nil || mod == f.mod {
		return f.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(f.crt, f.key)
	if err != nil {
		// Maybe half-way through a renewal: try again next time.
		if f.log != nil {
			f.log.Warn("tls: changed certificate not loaded; keeping the current one", "error", fmt.Sprint(err))
		}
		return f.cert, nil
	}
	f.cert, f.mod = &cert, mod
	if f.log != nil {
		f.log.Info("tls: certificate reloaded", "crt", f.crt)
	}
	return f.cert, nil
}

// prepare loads the pair crt/key now (on SIGHUP; the paths may have
// changed) and returns what puts it in force. An error leaves the current
// certificate in place.
func (f *tlsFiles) prepare(crt, key string) (func(), error) {
	g := &tlsFiles{crt: crt, key: key}
	mod, err := g.modTimes()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, err
	}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.crt, f.key, f.cert, f.mod, f.checked = crt, key, &cert, mod, time.Now()
	}, nil
}
