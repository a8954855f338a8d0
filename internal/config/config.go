package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// Source says where a setting's value came from.
type Source string

// The places a value can come from, in falling precedence.
const (
	SourceFlag    Source = "flag"
	SourceEnv     Source = "env"
	SourceFile    Source = "config"
	SourceAbuild  Source = "abuild.conf"
	SourceDefault Source = "default"
)

// Config is the resolved configuration. The zero value means "all defaults
// unknown"; build one with [Load].
type Config struct {
	// Packager is "Name <email>", written to .PKGINFO and used to name keys.
	Packager string
	// SigningKey is the private key that signs packages and indexes.
	SigningKey string
	// Repodest is the root of local repositories (<repodest>/<repo>/<arch>).
	Repodest string
	// Srcdest is the source download cache.
	Srcdest string
	// DistfilesMirror is a URL or a local directory tried before each
	// remote source's own URL (abuild's DISTFILES_MIRROR); "" means none.
	DistfilesMirror string
	// Jobs is the build parallelism.
	Jobs int
	// Makeflags is passed to builds as MAKEFLAGS.
	Makeflags string
	// KeysDirs are extra directories of trusted public keys.
	KeysDirs []string
	// PathPrepend lists directories put before the default PATH of build
	// phases (and bound read-only into the sandbox).
	PathPrepend []string
	// Arch is the Alpine architecture to build for (CARCH).
	Arch string
	// LintSkip are the lint rules that apkit lint leaves out.
	LintSkip []string
	// CacheDir holds downloaded Alpine indexes and packages and cached
	// build roots.
	CacheDir string
	// Alpine is the Alpine release builds run in ("edge", "v3.22"); ""
	// means the host's root.
	Alpine string
	// AlpineMirror is the Alpine mirror build roots are installed from.
	AlpineMirror string

	// File is the config file that was read ("" when none).
	File string
	// Unknown lists the keys in File that neither apkit's settings nor the
	// server's configuration know (misspelt ones, most likely), sorted.
	Unknown []string
	// Sources maps each setting's key to where its value came from.
	Sources map[string]Source
	// Origins maps each setting's key to the file or variable it came from,
	// when that is more than its Source says.
	Origins map[string]string

	v *viper.Viper
}

// Setting describes one configuration key.
type Setting struct {
	Key    string // key in the config file and suffix of APKIT_<KEY>
	Abuild string // name in abuild.conf, if abuild has it
	Help   string
}

// Settings lists every key apkit's own config file accepts, in display order.
var Settings = []Setting{
	{Key: "packager", Abuild: "PACKAGER", Help: "packager identity, Name <email> (default: git's user.name and user.email, else the signing key's name)"},
	{Key: "signing_key", Abuild: "PACKAGER_PRIVKEY", Help: "private key that signs packages and indexes"},
	{Key: "repodest", Abuild: "REPODEST", Help: "root of the local package repositories"},
	{Key: "srcdest", Abuild: "SRCDEST", Help: "source download cache"},
	{Key: "distfiles_mirror", Abuild: "DISTFILES_MIRROR", Help: "URL or local directory tried before each remote source"},
	{Key: "jobs", Abuild: "JOBS", Help: "build parallelism"},
	{Key: "makeflags", Abuild: "MAKEFLAGS", Help: "MAKEFLAGS for builds"},
	{Key: "keys_dirs", Help: "extra directories of trusted public keys"},
	{Key: "arch", Help: "Alpine architecture to build for (CARCH)"},
	{Key: "lint_skip", Help: "lint rules to skip, comma-separated (also SKIP_<RULE>=1)"},
	{Key: "path_prepend", Help: "directories put before PATH in the build sandbox, bound read-only"},
	{Key: "cache_dir", Help: "cache of downloaded Alpine packages and build roots"},
	{Key: "alpine", Help: "Alpine release to build in (edge, v3.22, ...); empty builds in the host's root"},
	{Key: "alpine_mirror", Help: "Alpine mirror build roots are installed from"},
}

// Options say where to look. Zero values mean the usual places.
type Options struct {
	// File is the config file from --config or APKIT_CONFIG. When set it must exist.
	File string
	// Flags are the command's flags; a changed flag whose name matches a
	// setting key (with '-' for '_') wins over everything.
	Flags *pflag.FlagSet
	// Getenv looks up environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Home is the user's home directory; "" means os.UserHomeDir.
	Home string
	// AbuildConf reads abuild configuration files (shell) into variables. nil
	// means abuild configuration is not read.
	AbuildConf func(path string, env map[string]string) (map[string]string, error)
	// GitConfig returns a git setting (user.name, user.email), "" when
	// unset; nil means asking git itself.
	GitConfig func(key string) string
}

// ConfigFile returns where apkit's config file is when --config is not
// given: $APKIT_CONFIG, else $XDG_CONFIG_HOME/apkit/config.yaml, else
// ~/.config/apkit/config.yaml.
func ConfigFile(getenv func(string) string, home string) string {
	if f := getenv("APKIT_CONFIG"); f != "" {
		return f
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "apkit", "config.yaml")
	}
	return filepath.Join(home, ".config", "apkit", "config.yaml")
}

// environment returns the variable lookup (os.Getenv when nil) and the
// home directory: home, else $HOME, else the user's home from the system.
func environment(getenv func(string) string, home string) (func(string) string, string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if home == "" {
		home = getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
	}
	return getenv, home
}

// Load resolves the configuration.
func Load(opts Options) (*Config, error) {
	getenv, home := environment(opts.Getenv, opts.Home)
	v := viper.New()
	v.SetConfigType("yaml")
	c := &Config{Sources: map[string]Source{}, Origins: map[string]string{}, v: v}

	// A --config file must exist; APKIT_CONFIG and the default location may
	// name a file that is yet to be written (apkit keygen writes it).
	file := opts.File
	explicit := file != ""
	if !explicit {
		file = ConfigFile(getenv, home)
	}
	if f, err := os.Open(file); err == nil {
		err = v.ReadConfig(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", file, err)
		}
		c.File = file
		c.Unknown = unknownKeys(v.AllKeys())
	} else if explicit || !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config: %w", err)
	}

	abuild := map[string]string{}
	abuildOrigin := map[string]string{}
	if opts.AbuildConf != nil {
		for _, p := range AbuildConfFiles(getenv, home) {
			if _, err := os.Stat(p); err != nil {
				continue
			}
			vars, err := opts.AbuildConf(p, map[string]string{"HOME": home})
			if err != nil {
				// Positioned errors name the file already.
				if strings.HasPrefix(err.Error(), p+":") {
					return nil, fmt.Errorf("abuild configuration %w", err)
				}
				return nil, fmt.Errorf("abuild configuration %s: %w", p, err)
			}
			for _, s := range Settings {
				if s.Abuild == "" {
					continue
				}
				if val, ok := vars[s.Abuild]; ok && val != "" {
					abuild[s.Key] = val
					abuildOrigin[s.Key] = p
				}
			}
		}
	}

	raw := map[string]string{}
	for _, s := range Settings {
		flagName := strings.ReplaceAll(s.Key, "_", "-")
		envName := "APKIT_" + strings.ToUpper(s.Key)
		switch {
		case opts.Flags != nil && opts.Flags.Lookup(flagName) != nil && opts.Flags.Changed(flagName):
			raw[s.Key] = opts.Flags.Lookup(flagName).Value.String()
			c.Sources[s.Key] = SourceFlag
			c.Origins[s.Key] = "--" + flagName
		case getenv(envName) != "":
			raw[s.Key] = getenv(envName)
			c.Sources[s.Key] = SourceEnv
			c.Origins[s.Key] = envName
		case v.IsSet(s.Key):
			if list := v.GetStringSlice(s.Key); (s.Key == "keys_dirs" || s.Key == "path_prepend") && len(list) > 0 {
				raw[s.Key] = strings.Join(list, ":")
			} else if s.Key == "lint_skip" && len(list) > 0 {
				raw[s.Key] = strings.Join(list, ",")
			} else {
				raw[s.Key] = v.GetString(s.Key)
			}
			c.Sources[s.Key] = SourceFile
			c.Origins[s.Key] = file
		case abuild[s.Key] != "":
			raw[s.Key] = abuild[s.Key]
			c.Sources[s.Key] = SourceAbuild
			c.Origins[s.Key] = abuildOrigin[s.Key]
		default:
			raw[s.Key] = defaultValue(s.Key, getenv, home)
			c.Sources[s.Key] = SourceDefault
		}
	}

	c.Packager = raw["packager"]
	c.SigningKey = expandHome(raw["signing_key"], home)
	if c.Packager == "" && c.Sources["packager"] == SourceDefault {
		c.Packager, c.Origins["packager"] = defaultPackager(opts.GitConfig, getenv, home, c.SigningKey)
	}
	c.Repodest = expandHome(raw["repodest"], home)
	c.Srcdest = expandHome(raw["srcdest"], home)
	c.DistfilesMirror = expandHome(raw["distfiles_mirror"], home)
	c.Makeflags = raw["makeflags"]
	c.CacheDir = expandHome(raw["cache_dir"], home)
	c.Alpine = raw["alpine"]
	c.AlpineMirror = expandHome(raw["alpine_mirror"], home)
	c.Arch = raw["arch"]
	if !apkbuild.KnownArch(c.Arch) {
		from := string(c.Sources["arch"])
		if o := c.Origins["arch"]; o != "" {
			from += " " + o
		}
		return nil, fmt.Errorf("config: arch (from %s): %q is not an Alpine architecture (x86_64, aarch64, armv7, ...)", from, c.Arch)
	}
	if raw["keys_dirs"] != "" {
		for _, d := range filepath.SplitList(raw["keys_dirs"]) {
			c.KeysDirs = append(c.KeysDirs, expandHome(d, home))
		}
	}
	for _, rule := range strings.Split(raw["lint_skip"], ",") {
		if rule = strings.TrimSpace(rule); rule != "" {
			c.LintSkip = append(c.LintSkip, rule)
		}
	}
	if raw["path_prepend"] != "" {
		for _, d := range filepath.SplitList(raw["path_prepend"]) {
			if d != "" {
				c.PathPrepend = append(c.PathPrepend, expandHome(d, home))
			}
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw["jobs"]))
	if err != nil || n < 1 {
		from := string(c.Sources["jobs"])
		if o := c.Origins["jobs"]; o != "" {
			from += " " + o
		}
		return nil, fmt.Errorf("config: jobs (from %s): %q is not a positive whole number", from, raw["jobs"])
	}
	c.Jobs = n
	if c.Sources["makeflags"] == SourceDefault {
		c.Makeflags = "-j" + strconv.Itoa(c.Jobs)
	}
	return c, nil
}

// defaultPackager returns the packager when none is set, and where it came
// from: "Name <email>" from git's user.name and user.email when git has
// both, else the identity in the signing key's file name, else "".
func defaultPackager(gitConfig func(string) string, getenv func(string) string, home, signingKey string) (string, string) {
	if gitConfig == nil {
		gitConfig = func(key string) string {
			cmd := exec.Command("git", "config", "--get", key)
			// git reads the home and XDG directories apkit was given.
			cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+getenv("XDG_CONFIG_HOME"))
			out, err := cmd.Output()
			if err != nil {
				return ""
			}
			return strings.TrimSpace(string(out))
		}
	}
	if name, email := gitConfig("user.name"), gitConfig("user.email"); name != "" && email != "" {
		return name + " <" + email + ">", "git config user.name, user.email"
	}
	if signingKey != "" {
		if id := sign.IDOfKeyFile(filepath.Base(signingKey)); id != "" {
			return id, "the name of signing_key"
		}
	}
	return "", ""
}

// AbuildConfFiles lists the abuild configuration files in the order abuild
// reads them (later ones override earlier ones).
func AbuildConfFiles(getenv func(string) string, home string) []string {
	sys := getenv("ABUILD_CONF")
	if sys == "" {
		sys = "/etc/abuild.conf"
	}
	user := getenv("ABUILD_USERCONF")
	if user == "" {
		dir := getenv("ABUILD_USERDIR")
		if dir == "" {
			xdg := getenv("XDG_CONFIG_HOME")
			if xdg == "" {
				xdg = filepath.Join(home, ".config")
			}
			dir = filepath.Join(xdg, "abuild")
			legacy := filepath.Join(home, ".abuild")
			if _, err := os.Stat(dir); err != nil {
				if _, err := os.Stat(legacy); err == nil {
					dir = legacy
				}
			}
		}
		user = filepath.Join(dir, "abuild.conf")
	}
	return []string{sys, user}
}

func defaultValue(key string, getenv func(string) string, home string) string {
	switch key {
	case "repodest":
		return filepath.Join(home, "packages")
	case "srcdest":
		if x := getenv("XDG_CACHE_HOME"); x != "" {
			return filepath.Join(x, "apkit", "distfiles")
		}
		return filepath.Join(home, ".cache", "apkit", "distfiles")
	case "jobs":
		return strconv.Itoa(numCPU())
	case "keys_dirs":
		return ""
	case "cache_dir":
		if x := getenv("XDG_CACHE_HOME"); x != "" {
			return filepath.Join(x, "apkit")
		}
		return filepath.Join(home, ".cache", "apkit")
	case "alpine_mirror":
		return "https://dl-cdn.alpinelinux.org/alpine"
	case "arch":
		return apkbuild.HostArch()
	}
	return ""
}

func expandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}

// Keys returns the setting keys in display order.
func (c *Config) Keys() []string {
	keys := make([]string, 0, len(Settings))
	for _, s := range Settings {
		keys = append(keys, s.Key)
	}
	return keys
}

// Value returns the resolved value of key as text.
func (c *Config) Value(key string) string {
	switch key {
	case "packager":
		return c.Packager
	case "signing_key":
		return c.SigningKey
	case "repodest":
		return c.Repodest
	case "srcdest":
		return c.Srcdest
	case "distfiles_mirror":
		return c.DistfilesMirror
	case "jobs":
		return strconv.Itoa(c.Jobs)
	case "makeflags":
		return c.Makeflags
	case "keys_dirs":
		d := append([]string(nil), c.KeysDirs...)
		sort.Strings(d)
		return strings.Join(d, string(filepath.ListSeparator))
	case "arch":
		return c.Arch
	case "lint_skip":
		return strings.Join(c.LintSkip, ",")
	case "path_prepend":
		return strings.Join(c.PathPrepend, string(filepath.ListSeparator))
	case "cache_dir":
		return c.CacheDir
	case "alpine":
		return c.Alpine
	case "alpine_mirror":
		return c.AlpineMirror
	}
	return ""
}

// unknownKeys returns the keys (as viper flattens them, lower case, with
// dots) that no setting of apkit or of apkit serve reads, sorted.
func unknownKeys(keys []string) []string {
	var out []string
	for _, k := range keys {
		if !KnownKey(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// KnownKey reports whether key (lower case, nested keys joined with dots)
// is read by apkit or by apkit serve. Every key under jwt.claims is.
func KnownKey(key string) bool {
	if key == "jwt.claims" || strings.HasPrefix(key, "jwt.claims.") {
		return true
	}
	for _, s := range Settings {
		if s.Key == key {
			return true
		}
	}
	for _, k := range serveEnvKeys {
		// An empty section (tls: with nothing under it) is a key too.
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// SuggestKey returns the known key closest to an unknown one, or "" when
// none is close (at most two edits away).
func SuggestKey(key string) string {
	best, bestD := "", 3
	try := func(k string) {
		if d := EditDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	for _, s := range Settings {
		try(s.Key)
	}
	for _, k := range serveEnvKeys {
		try(k)
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, counted in
// bytes; the suggestions for misspelt keys, flags and commands use it.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
