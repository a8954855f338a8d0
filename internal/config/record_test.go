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
