package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The redirect listener listens where the server does: a server on
// loopback does not open a port on every interface for its redirect.
func TestRedirectAddrs(t *testing.T) {
	tests := []struct {
		name      string
		listen    []string
		protocols string
		want      [][2]string
	}{
		{"loopback", []string{"127.0.0.1:8443"}, "both", [][2]string{{"tcp", "127.0.0.1:8080"}}},
		{"loopback v6", []string{"[::1]:8443"}, "both", [][2]string{{"tcp", "[::1]:8080"}}},
		{"two hosts", []string{"127.0.0.1:8443", "[::1]:8443", "127.0.0.1:9443"}, "both", [][2]string{{"tcp", "127.0.0.1:8080"}, {"tcp", "[::1]:8080"}}},
		{"v6 host, ipv4 only", []string{"127.0.0.1:8443", "[::1]:8443"}, "ipv4", [][2]string{{"tcp4", "127.0.0.1:8080"}}},
		{"v4 host, ipv6 only", []string{"192.0.2.1:8443", "[2001:db8::1]:8443"}, "ipv6", [][2]string{{"tcp6", "[2001:db8::1]:8080"}}},
		{"all interfaces", []string{"0.0.0.0:8443"}, "both", [][2]string{{"tcp", ":8080"}}},
		{"empty host", []string{":8443"}, "both", [][2]string{{"tcp", ":8080"}}},
		{"all interfaces ipv4", []string{"0.0.0.0:8443"}, "ipv4", [][2]string{{"tcp4", "0.0.0.0:8080"}}},
		{"all interfaces ipv6", []string{"[::]:8443"}, "ipv6", [][2]string{{"tcp6", "[::]:8080"}}},
		{"any wins", []string{"127.0.0.1:8443", "0.0.0.0:9443"}, "both", [][2]string{{"tcp", ":8080"}}},
		{"host name", []string{"packages.example.org:8443"}, "both", [][2]string{{"tcp", "packages.example.org:8080"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redirectAddrs(tc.listen, "8080", tc.protocols)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("redirectAddrs(%q, %s) (-want +got):\n%s", tc.listen, tc.protocols, diff)
			}
		})
	}
}
