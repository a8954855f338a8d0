package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRecordSetting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.yaml")
	tests := []struct {
		name, key, value string
		wrote            bool
		want             string
	}{
		{"new file", "signing_key", "/k/a b.rsa", true, "signing_key: \"/k/a b.rsa\"\n"},
		{"already set", "signing_key", "/other.rsa", false, "signing_key: \"/k/a b.rsa\"\n"},
		{"another key", "packager", "Jane <j@x>", true, "signing_key: \"/k/a b.rsa\"\npackager: \"Jane <j@x>\"\n"},
	}
	for _, tt := range tests {
		wrote, err := RecordSetting(path, tt.key, tt.value)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, _ := os.ReadFile(path)
		if wrote != tt.wrote || string(got) != tt.want {
			t.Errorf("%s: wrote %v, file %q", tt.name, wrote, got)
		}
	}
}

func TestSetSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, before, key, value, after string
	}{
		{"new file", "", "jobs", "4", "jobs: 4\n"},
		{"comments only", "# mine\n", "packager", "Jane <j@example.org>", "# mine\npackager: Jane <j@example.org>\n"},
		{"replace, keep comments", "# top\njobs: 8 # all\nrepodest: /r\n", "jobs", "2", "# top\njobs: 2 # all\nrepodest: /r\n"},
		{"flow mapping", "{jobs: 8}\n", "arch", "aarch64", "jobs: 8\narch: aarch64\n"},
		{"string that looks like yaml", "", "makeflags", "true", "makeflags: \"true\"\n"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if tt.before != "" {
			os.WriteFile(path, []byte(tt.before), 0o644)
		}
		if err := SetSetting(path, tt.key, tt.value); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != tt.after {
			t.Errorf("%s: file %q, want %q", tt.name, got, tt.after)
		}
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte("- a list\n"), 0o644)
	if err := SetSetting(path, "jobs", "1"); err == nil {
		t.Error("a list file was accepted")
	}
}
