package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/internal/config"
)

// TestRedirectAddrs: the plain-HTTP redirect listener follows
// tls.redirect.protocols, except in dev mode, where everything the server
// opens stays on the loopback address it was given.
func TestRedirectAddrs(t *testing.T) {
	tests := []struct {
		name   string
		dev    bool
		listen string
		protos string
		want   [][2]string
	}{
		{"both", false, "0.0.0.0:8443", "both", [][2]string{{"tcp", ":80"}}},
		{"ipv4", false, "0.0.0.0:8443", "ipv4", [][2]string{{"tcp4", "0.0.0.0:80"}}},
		{"ipv6", false, "[::]:8443", "ipv6", [][2]string{{"tcp6", "[::]:80"}}},
		{"dev mode stays on loopback", true, "127.0.0.1:8443", "both", [][2]string{{"tcp", "127.0.0.1:80"}}},
		{"dev mode ipv6 loopback", true, "[::1]:8443", "ipv4", [][2]string{{"tcp", "[::1]:80"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.ServeConfig{Dev: tc.dev, Listen: []string{tc.listen}}
			cfg.TLS.Redirect.Port = 80
			cfg.TLS.Redirect.Protocols = tc.protos
			if diff := cmp.Diff(tc.want, redirectAddrs(cfg)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
