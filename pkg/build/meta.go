package build

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// maxMeta bounds the metadata file a phase writes.
const maxMeta = 4 << 20

// readMeta reads the NUL-separated name/value pairs the driver writes.
func readMeta(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recipe metadata: %w", err)
	}
	defer f.Close()
	buf := make([]byte, maxMeta+1)
	n, _ := f.Read(buf)
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	if n > maxMeta {
		return nil, fmt.Errorf("recipe metadata: larger than %d bytes", maxMeta)
	}
	parts := bytes.Split(buf[:n], []byte{0})
	if len(parts)%2 != 1 || len(parts[len(parts)-1]) != 0 {
		return nil, fmt.Errorf("recipe metadata: malformed")
	}
	vars := map[string]string{}
	for i := 0; i+1 < len(parts); i += 2 {
		vars[string(parts[i])] = string(parts[i+1])
	}
	return vars, nil
}

// fields splits a list variable like the shell's default field splitting.
func fields(s string) []string { return strings.Fields(s) }
