package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestE2ETokensNeverLogged: with debug logging on (every request logged),
// neither accepted nor refused tokens, nor the Authorization header, show
// up in the server's log or its replies.
func TestE2ETokensNeverLogged(t *testing.T) {
	e := startE2E(t, "-v")
	pkgs := filepath.Join(e.dir, "pkgs")
	good := buildTestPackage(t, pkgs, e.buildKey, "good", "1.0-r0", "x86_64", 10)
	content, _ := os.ReadFile(good)
	claims := e.idp.Claims("job")
	claims["project_path"] = "group/app"
	ok, _ := e.idp.RS256(claims)
	claims["project_path"] = "evil/app"
	forbidden, _ := e.idp.RS256(claims)
	claims["exp"] = time.Now().Add(-time.Hour).Unix()
	expired, _ := e.idp.RS256(claims)
	garbage := "secret-garbage-token-" + strings.Repeat("x", 40)
	var replies []string
	for _, tok := range []string{garbage, expired, forbidden, ok} {
		code, body := postForm(t, e.url, tok, nil, map[string][]byte{"good-1.0-r0.apk": content})
		replies = append(replies, fmt.Sprintf("%d %s", code, body))
	}
	// A token sent in the query string and a malformed header.
	http.Get(e.url + "/upload?access_token=" + garbage)
	u, _ := url.Parse(e.url)
	if c, err := net.Dial("tcp", u.Host); err == nil {
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", garbage)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			b, _ := io.ReadAll(resp.Body)
			replies = append(replies, string(b))
		}
		c.Close()
	}
	log, err := e.stop()
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !strings.Contains(replies[3], "200") {
		t.Fatalf("the good upload failed: %v", replies)
	}
	if !strings.Contains(log, "level=DEBUG") {
		t.Fatalf("debug logging is off:\n%s", log)
	}
	for _, tok := range []string{garbage, expired, forbidden, ok} {
		// The signature part alone must not appear either.
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(log, sig) {
			t.Errorf("log holds a token:\n%s", log)
		}
		for _, r := range replies {
			if strings.Contains(r, sig) {
				t.Errorf("reply holds a token: %s", r)
			}
		}
	}
	// The reason "missing bearer token" may be logged; a header's value may not.
	if lower := strings.ToLower(log); strings.Contains(lower, "authorization") || bearerValueRE.MatchString(lower) {
		t.Errorf("log mentions the Authorization header:\n%s", log)
	}
}

// bearerValueRE matches "Bearer <credential>" as an Authorization header
// value would put it.
var bearerValueRE = regexp.MustCompile(`bearer\s+[a-z0-9_\-]{8,}\.`)
