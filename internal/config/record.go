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
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
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

// SetSetting sets key, one of [Settings], to value in the config file at
// path, creating the file (and its directory) if needed. The file keeps
// its other keys and its comments; it is replaced atomically, keeps its
// permissions, and is made readable by its owner only (0600) when it holds
// anything that looks like a secret (a key named like password, token,
// secret or passphrase).
func SetSetting(path, key, value string) error {
	if err := checkSetting(key, value); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	var prefix []byte
	if doc.Kind == 0 {
		// Empty, or comments only: keep them above the new mapping.
		prefix = data
		if len(prefix) > 0 && prefix[len(prefix)-1] != '\n' {
			prefix = append(prefix, '\n')
		}
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("config %s: not a mapping of keys to values", path)
	}
	m := doc.Content[0]
	if m.Style&yaml.FlowStyle != 0 {
		m.Style = 0
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	if _, err := strconv.ParseUint(value, 10, 32); err == nil {
		val.Tag = "!!int" // jobs: 3, not "3"
	}
	found := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			val.LineComment, val.HeadComment, val.FootComment = old.LineComment, old.HeadComment, old.FootComment
			m.Content[i+1] = val
			found = true
		}
	}
	if !found {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
	}
	var b bytes.Buffer
	b.Write(prefix)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	enc.Close()

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	if holdsSecret(m) {
		perm &= 0o600
	}
	err = repo.WriteFile(path, perm, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// checkSetting refuses keys apkit does not know and values it cannot use.
func checkSetting(key, value string) error {
	known := false
	for _, s := range Settings {
		known = known || s.Key == key
	}
	if !known {
		hint := ""
		if s := SuggestKey(key); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		return fmt.Errorf("config: %q is not a setting%s", key, hint)
	}
	switch key {
	case "jobs":
		if n, err := strconv.Atoi(value); err != nil || n < 1 {
			return fmt.Errorf("config: jobs: %q is not a positive whole number", value)
		}
	case "arch":
		if !apkbuild.KnownArch(value) {
			return fmt.Errorf("config: arch: %q is not an Alpine architecture (x86_64, aarch64, armv7, ...)", value)
		}
	}
	return nil
}

// holdsSecret reports whether a mapping, at any depth, has a key named
// like a secret.
func holdsSecret(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := strings.ToLower(n.Content[i].Value)
			for _, w := range []string{"password", "passphrase", "secret", "token"} {
				if strings.Contains(k, w) {
					return true
				}
			}
		}
	}
	for _, c := range n.Content {
		if holdsSecret(c) {
			return true
		}
	}
	return false
}
