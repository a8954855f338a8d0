package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ftpServer is a tiny passive-mode (EPSV) FTP server over 127.0.0.1 for
// tests: USER, PASS, FEAT, TYPE, OPTS, EPSV, SIZE, REST, RETR, QUIT.
type ftpServer struct {
	ln    net.Listener
	files map[string][]byte
	// dropAfter, when above zero, makes the first RETR send only that
	// many bytes and then abort with 426.
	dropAfter int
	noRest    bool // answer REST with 502
	stall     bool // RETR answers 150 and then sends nothing

	mu  sync.Mutex
	log []string // the commands received, USER/PASS/FEAT/TYPE/OPTS/EPSV/QUIT aside
	wg  sync.WaitGroup
}

func newFTPServer(t *testing.T, files map[string][]byte) *ftpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ftpServer{ln: ln, files: files}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *ftpServer) URL(path string) string { return "ftp://" + s.ln.Addr().String() + path }

func (s *ftpServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *ftpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	reply := func(format string, args ...any) { fmt.Fprintf(c, format+"\r\n", args...) }
	reply("220 test server")
	var data net.Listener
	defer func() {
		if data != nil {
			data.Close()
		}
	}()
	var offset int64
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch cmd {
		case "USER", "PASS", "FEAT", "TYPE", "OPTS", "EPSV", "QUIT":
		default:
			s.mu.Lock()
			s.log = append(s.log, strings.TrimSpace(cmd+" "+arg))
			s.mu.Unlock()
		}
		switch cmd {
		case "USER":
			reply("331 password please")
		case "PASS":
			reply("230 logged in")
		case "FEAT":
			reply("211-Features:\r\n SIZE\r\n REST STREAM\r\n211 End")
		case "TYPE":
			reply("200 binary")
		case "EPSV":
			if data != nil {
				data.Close()
			}
			data, err = net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				reply("425 no data port")
				continue
			}
			reply("229 Entering Extended Passive Mode (|||%d|)", data.Addr().(*net.TCPAddr).Port)
		case "SIZE":
			b, ok := s.files[arg]
			if !ok {
				reply("550 no such file")
				continue
			}
			reply("213 %d", len(b))
		case "REST":
			if s.noRest {
				reply("502 REST not implemented")
				continue
			}
			n, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				reply("501 bad offset")
				continue
			}
			offset = n
			reply("350 restarting at %d", n)
		case "RETR":
			b, ok := s.files[arg]
			if data == nil {
				reply("425 use EPSV first")
				continue
			}
			dc, err := data.Accept()
			data.Close()
			data = nil
			if err != nil {
				reply("425 no data connection")
				continue
			}
			if !ok {
				dc.Close()
				reply("550 no such file")
				continue
			}
			if offset > int64(len(b)) {
				offset = int64(len(b))
			}
			b = b[offset:]
			offset = 0
			reply("150 sending")
			if s.stall {
				// Hold the data connection open until the client gives up.
				dc.Read(make([]byte, 1))
				dc.Close()
				continue
			}
			s.mu.Lock()
			drop := s.dropAfter
			s.dropAfter = 0
			s.mu.Unlock()
			if drop > 0 && drop < len(b) {
				dc.Write(b[:drop])
				dc.Close()
				reply("426 transfer aborted")
				continue
			}
			dc.Write(b)
			dc.Close()
			reply("226 done")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 %s not implemented", cmd)
		}
	}
}

func TestFetchFTP(t *testing.T) {
	t.Parallel()
	content := payload(200 << 10)
	sum := Checksum{Algo: SHA512, Digest: sha512hex(content)}
	tests := []struct {
		name      string
		path      string
		dropAfter int
		noRest    bool
		want      []string
		wantErr   string
	}{
		{name: "success", path: "/pub/f.tar.gz", want: []string{"SIZE /pub/f.tar.gz", "RETR /pub/f.tar.gz"}},
		{
			name: "dropped transfer resumed with REST", path: "/pub/f.tar.gz", dropAfter: 70 << 10,
			want: []string{"SIZE /pub/f.tar.gz", "RETR /pub/f.tar.gz", "SIZE /pub/f.tar.gz", "REST 71680", "RETR /pub/f.tar.gz"},
		},
		{
			name: "no REST: started over", path: "/pub/f.tar.gz", dropAfter: 70 << 10, noRest: true,
			want: []string{"SIZE /pub/f.tar.gz", "RETR /pub/f.tar.gz", "SIZE /pub/f.tar.gz", "REST 71680", "RETR /pub/f.tar.gz"},
		},
		{
			name: "missing file is not retried", path: "/pub/gone.tar.gz",
			want:    []string{"SIZE /pub/gone.tar.gz", "RETR /pub/gone.tar.gz"},
			wantErr: "550 no such file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFTPServer(t, map[string][]byte{"/pub/f.tar.gz": content})
			srv.dropAfter, srv.noRest = tt.dropAfter, tt.noRest
			opts := fastOpts(t.TempDir())
			res, err := Fetch(context.Background(), []Item{{Name: "f.tar.gz", URL: srv.URL(tt.path), Sum: sum}}, opts)
			if diff := cmp.Diff(tt.want, srv.commands()); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if tt.wantErr != "" {
				var fe *FTPError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want an *FTPError with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			got, err := os.ReadFile(res[0].Path)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("cached file differs (err %v)", err)
			}
		})
	}
}

// A server that stops sending fails the attempt after Options.Timeout.
func TestFetchFTPStalled(t *testing.T) {
	t.Parallel()
	srv := newFTPServer(t, map[string][]byte{"/f.tar.gz": payload(1000)})
	srv.stall = true
	opts := fastOpts(t.TempDir())
	opts.Timeout, opts.Attempts = 200*time.Millisecond, 2
	// The stall timeout must end both attempts: a hang would run into this
	// context's minute instead and fail with a different error.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Fetch(ctx, []Item{{Name: "f.tar.gz", URL: srv.URL("/f.tar.gz")}}, opts)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "after 2 attempts") || ctx.Err() != nil {
		t.Fatalf("err = %v, want stalled after 2 attempts", err)
	}
}

// An ftp:// mirror is used like an http one, and a file it lacks falls
// back to the source's own URL.
func TestFetchFTPMirror(t *testing.T) {
	t.Parallel()
	content := payload(1000)
	sum := Checksum{Algo: SHA512, Digest: sha512hex(content)}
	mirror := newFTPServer(t, map[string][]byte{"/distfiles/a.tar.gz": content})
	up := newFTPServer(t, map[string][]byte{"/b.tar.gz": content})
	opts := fastOpts(t.TempDir())
	opts.Mirror = mirror.URL("/distfiles")
	res, err := Fetch(context.Background(), []Item{
		{Name: "a.tar.gz", URL: up.URL("/a.tar.gz"), Sum: sum},
		{Name: "b.tar.gz", URL: up.URL("/b.tar.gz"), Sum: sum},
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].FromMirror || res[1].FromMirror {
		t.Errorf("FromMirror = %v, %v; want true, false", res[0].FromMirror, res[1].FromMirror)
	}
	var fe *FTPError
	if !errors.As(res[1].MirrorErr, &fe) || fe.Code != 550 {
		t.Errorf("MirrorErr = %v, want 550", res[1].MirrorErr)
	}
	for _, r := range res {
		if b, err := os.ReadFile(filepath.Join(opts.Cache, r.Item.Name)); err != nil || !bytes.Equal(b, content) {
			t.Errorf("%s: wrong or missing (%v)", r.Item.Name, err)
		}
	}
}
