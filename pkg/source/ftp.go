package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"sync"

	"github.com/jlaffaye/ftp"
)

// FTPError is a download answered with an FTP error reply.
type FTPError struct {
	URL  string // the URL requested
	Code int    // the reply code, e.g. 550
	Msg  string // the server's text
}

// Error returns "RETR <url>: <code> <text>".
func (e *FTPError) Error() string { return fmt.Sprintf("RETR %s: %d %s", e.URL, e.Code, e.Msg) }

// Temporary reports whether retrying might help: 4xx replies are
// transient by definition, 5xx ones are not.
func (e *FTPError) Temporary() bool { return e.Code < 500 }

// ftpError turns a reply error of the FTP client into an *FTPError.
func ftpError(rawURL string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &FTPError{URL: rawURL, Code: te.Code, Msg: te.Msg}
	}
	return err
}

// attemptFTP runs one passive-mode FTP retrieval of it.URL into part,
// resuming with REST where part already holds bytes and the server
// allows it. The login is the URL's user and password, else anonymous.
// Proxy variables do not apply to FTP.
func (f *fetcher) attemptFTP(ctx context.Context, it Item, part string, tr Transfer) (err error) {
	u, err := url.Parse(it.URL)
	if err != nil {
		return err
	}
	out, have, err := openPart(part)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()

	actx, timer, stopAttempt := f.stallContext(ctx)
	defer stopAttempt()

	// Every connection (control and data) is closed when the attempt is
	// cancelled or stalls, which unblocks whatever waits on it.
	var mu sync.Mutex
	var conns []net.Conn
	dial := func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: f.timeout}
		c, err := d.DialContext(actx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		return c, nil
	}
	stop := context.AfterFunc(actx, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	defer stop()

	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "21")
	}
	c, err := ftp.Dial(addr, ftp.DialWithDialFunc(dial))
	if err != nil {
		return stallCause(actx, err)
	}
	defer c.Quit()
	user, pass := "anonymous", "anonymous@"
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	if err := c.Login(user, pass); err != nil {
		return stallCause(actx, ftpError(it.URL, err))
	}
	path := u.Path

	total := int64(-1)
	if n, err := c.FileSize(path); err == nil {
		total = n
	}
	if have > 0 && total >= 0 && have >= total {
		if have == total {
			tr.Size(total, have)
			return out.Sync()
		}
		have = 0 // longer than the file now is: start over
	}
	var resp *ftp.Response
	if have > 0 {
		resp, err = c.RetrFrom(path, uint64(have))
		if err != nil && actx.Err() == nil {
			have = 0 // no REST: start over
		}
	}
	if have == 0 {
		if err := out.Truncate(0); err != nil {
			return err
		}
		resp, err = c.Retr(path)
	}
	if err != nil {
		return stallCause(actx, ftpError(it.URL, err))
	}
	if _, err := out.Seek(have, io.SeekStart); err != nil {
		resp.Close()
		return err
	}
	if total > f.maxSize {
		resp.Close()
		return &TooLargeError{Source: it.URL, Limit: f.maxSize, Size: total}
	}
	tr.Size(total, have)
	buf := make([]byte, 128<<10)
	got := have
	for {
		n, rerr := resp.Read(buf)
		if n > 0 {
			timer.Reset(f.timeout)
			if got+int64(n) > f.maxSize {
				resp.Close()
				return &TooLargeError{Source: it.URL, Limit: f.maxSize, Size: -1}
			}
			if _, werr := out.Write(buf[:n]); werr != nil {
				resp.Close()
				return werr
			}
			got += int64(n)
			tr.Add(int64(n))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			resp.Close()
			return stallCause(actx, rerr)
		}
	}
	// Close reads the transfer's final reply: a 426 means the server
	// aborted it and the bytes are incomplete.
	if err := resp.Close(); err != nil {
		return stallCause(actx, ftpError(it.URL, err))
	}
	if total >= 0 && got != total {
		return fmt.Errorf("RETR %s: got %d bytes of %d", it.URL, got, total)
	}
	return out.Sync()
}
