package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/apkit-dev/apkit/pkg/repo"
)

// RecordSetting sets key to value in the config file at path when the file
// does not set it yet, creating the file (and its directory) if needed.
// It appends one line and leaves the rest of the file as it was; the file
// is replaced atomically. It reports whether it wrote anything.
func RecordSetting(path, key, value string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("config %s: %w", path, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return false, fmt.Errorf("config %s: %w", path, err)
	}
	if _, ok := doc[key]; ok {
		return false, nil
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString(key + ": " + strconv.Quote(value) + "\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("config %s: %w", path, err)
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	err = repo.WriteFile(path, perm, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("config %s: %w", path, err)
	}
	return true, nil
}
