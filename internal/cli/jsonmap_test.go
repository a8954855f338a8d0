package cli

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzSortedStrings checks that sortedStrings encodes byte for byte as
// encoding/json encodes a map[string]string with HTML escaping off.
//
//	go test ./internal/cli -run '^$' -fuzz FuzzSortedStrings -fuzztime 30s
func FuzzSortedStrings(f *testing.F) {
	for _, s := range [][2]string{
		{"pkgver", "1.0"},
		{"pkgdesc", "a \"quoted\" <b>&</b> \\ path\n\ttab\r\b\f\x00\x1f\x7f"},
		{"bad", "\xff\xfe x \xe2\x80\xa8 \xe2\x80\xa9 é 日本"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		m := map[string]string{k: v, "z" + k: v + k, "a": k}
		var want, got bytes.Buffer
		for _, enc := range []struct {
			buf *bytes.Buffer
			v   any
		}{{&want, m}, {&got, sortedStrings(m)}} {
			e := json.NewEncoder(enc.buf)
			e.SetEscapeHTML(false)
			if err := e.Encode(enc.v); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Errorf("encoding/json %s\nsortedStrings %s", want.Bytes(), got.Bytes())
		}
	})
}
