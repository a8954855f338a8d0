package upload

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// DefaultTokenEnv is the variable read for the token when no other is named.
const DefaultTokenEnv = "APKIT_TOKEN"

// GitLabTokenEnvs are GitLab's job token variables, read after the named
// variable, newest first.
var GitLabTokenEnvs = []string{"CI_JOB_JWT_V2", "CI_JOB_JWT"}

// TokenSource says where to find the token.
type TokenSource struct {
	// File holds the token (surrounding white space is ignored).
	File string
	// Env names the variable that holds it, such as the variable of a
	// GitLab id_tokens entry ("" means DefaultTokenEnv).
	Env string
	// Getenv looks up variables; nil means os.Getenv.
	Getenv func(string) string
}

// ErrNoToken is returned by [TokenSource.Token] when no token was found.
var ErrNoToken = errors.New("no token")

// Token returns the token and where it came from: File when set, else the
// variable Env, else APKIT_TOKEN, CI_JOB_JWT_V2 and CI_JOB_JWT in turn.
func (s TokenSource) Token() (token, from string, err error) {
	if s.File != "" {
		f, err := os.Open(s.File)
		if err != nil {
			return "", "", fmt.Errorf("token file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(bufio.NewReader(f), 64<<10))
		if err != nil {
			return "", "", fmt.Errorf("token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", "", fmt.Errorf("token file %s is empty", s.File)
		}
		return tok, s.File, nil
	}
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	names := []string{DefaultTokenEnv}
	if s.Env != "" && s.Env != DefaultTokenEnv {
		names = []string{s.Env, DefaultTokenEnv}
	}
	names = append(names, GitLabTokenEnvs...)
	for _, n := range names {
		if tok := strings.TrimSpace(getenv(n)); tok != "" {
			return tok, "$" + n, nil
		}
	}
	return "", "", fmt.Errorf("%w: set %s (or use --token-file or --token-env)", ErrNoToken, strings.Join(names, ", "))
}

// SystemVersion returns the repository version of the running Alpine
// system from an os-release file ("" means /etc/os-release): "v" and the
// major.minor of VERSION_ID, as in Alpine's repository URLs (v3.20), or
// "edge" for edge and development snapshots.
func SystemVersion(osRelease string) (string, error) {
	if osRelease == "" {
		osRelease = "/etc/os-release"
	}
	b, err := os.ReadFile(osRelease)
	if err != nil {
		return "", fmt.Errorf("version: %w (use --version)", err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok {
			vars[k] = strings.Trim(v, `"'`)
		}
	}
	if vars["ID"] != "alpine" {
		return "", fmt.Errorf("version: %s is not an Alpine system (use --version)", osRelease)
	}
	id := vars["VERSION_ID"]
	if strings.Contains(id, "_") || strings.Contains(vars["PRETTY_NAME"], "edge") {
		return "edge", nil
	}
	parts := strings.Split(id, ".")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("version: VERSION_ID %q in %s is not major.minor (use --version)", id, osRelease)
	}
	return "v" + parts[0] + "." + parts[1], nil
}
