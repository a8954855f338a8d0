package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// ServeConfig is the resolved configuration of `apkit serve`. Its keys are
// those of existing reposerve-style files (dir, tls, jwt) plus apkit's own.
type ServeConfig struct {
	// Dir is the root of the served tree <dir>/<version>/<repo>/<arch>/.
	Dir string
	// Listen are the addresses to listen on.
	Listen []string
	// Dev turns authentication off (loopback addresses only).
	Dev bool
	// SigningKey is the private key that signs indexes ("" means the general
	// configuration's signing_key).
	SigningKey string
	// UploadKeys is a directory of public keys; when set, uploaded packages
	// must be signed by one of them.
	UploadKeys string
	// MaxUploadSize bounds one upload request, in bytes (0 means the server's default).
	MaxUploadSize int64
	// UploadMinRate is the average rate, in bytes per second, an upload's
	// body must keep (0 means the server's default, -1 none).
	UploadMinRate int64
	// RequestTimeout bounds reading a request other than an accepted
	// upload's body (0 means the server's default).
	RequestTimeout time.Duration
	// LogFormat is text or json.
	LogFormat string
	TLS       ServeTLS // HTTPS settings
	JWT       ServeJWT // upload authentication settings

	// File is the config file that was read ("" when none).
	File string
}

// ServeTLS configures HTTPS.
type ServeTLS struct {
	// Cert and Key are PEM files (keys crt and key).
	Cert, Key string
	Redirect  ServeRedirect // the plain-HTTP redirect listener
	HSTS      ServeHSTS     // the Strict-Transport-Security header
	ACME      ServeACME     // automatic certificates
}

// Enabled reports whether the server speaks TLS.
func (t ServeTLS) Enabled() bool { return t.Cert != "" || len(t.ACME.Domains) > 0 }

// ServeRedirect configures the plain-HTTP listener that redirects to HTTPS.
type ServeRedirect struct {
	// Port is the HTTP port (0 means no redirect listener).
	Port int
	// Protocols is both, ipv4, ipv6 or none.
	Protocols string
}

// ServeHSTS configures the Strict-Transport-Security header.
type ServeHSTS struct {
	// Duration is max-age (0 means no header).
	Duration          time.Duration
	IncludeSubdomains bool // add includeSubDomains
	Preload           bool // add preload
}

// Header returns the header value ("" when HSTS is off).
func (h ServeHSTS) Header() string {
	if h.Duration <= 0 {
		return ""
	}
	v := "max-age=" + strconv.FormatInt(int64(h.Duration/time.Second), 10)
	if h.IncludeSubdomains {
		v += "; includeSubDomains"
	}
	if h.Preload {
		v += "; preload"
	}
	return v
}

// ServeACME configures automatic certificates.
type ServeACME struct {
	// Domains are the names to get certificates for (none means no ACME).
	Domains []string
	// Cache is the directory that keeps account keys and certificates.
	Cache string
	// Email is the contact address given to the CA.
	Email string
}

// ServeJWT configures upload authentication.
type ServeJWT struct {
	// JWKS is the URL of the identity provider's key set.
	JWKS string
	// Issuer is the required iss claim: jwt.issuer, or else the one exact
	// value of jwt.claims.iss (as reposerve files give it).
	Issuer   string
	Audience []string // the accepted audiences (aud claim)
	// IssuerFromClaims reports that Issuer was taken from jwt.claims.iss.
	IssuerFromClaims bool
	// Claims maps a claim name to its allowed values (exact or glob).
	Claims map[string][]string
}

// ServeOptions say where `apkit serve` finds its settings.
type ServeOptions struct {
	// File is the config file from --config (it must exist) or "" for
	// APKIT_CONFIG or the default location (which may be absent).
	File string
	// Flags are the command's flags: listen, dir and dev override the file.
	Flags *pflag.FlagSet
	// Getenv looks up environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Home is the user's home directory; "" means $HOME, else the
	// system's idea of it.
	Home string
}

// serveEnvKeys are the keys that APKIT_<KEY with _ for .> variables set.
var serveEnvKeys = []string{
	"dir", "listen", "dev", "signing_key", "upload_keys", "max_upload_size", "log_format",
	"upload_min_rate", "request_timeout",
	"tls.crt", "tls.key", "tls.redirect.port", "tls.redirect.protocols",
	"tls.hsts.duration", "tls.hsts.include_subdomains", "tls.hsts.preload",
	"tls.acme.domains", "tls.acme.cache", "tls.acme.email",
	"jwt.jwks", "jwt.issuer", "jwt.audience",
}

// LoadServe resolves the server configuration: flags, then APKIT_*
// variables (APKIT_DIR, APKIT_JWT_JWKS, APKIT_TLS_CRT, ...), then the
// config file, then defaults. It checks that the result can run: a
// directory, TLS files in pairs, and jwt.jwks, jwt.issuer and jwt.audience
// unless in dev mode, where only loopback addresses may be used. As in
// reposerve files, the issuer may instead be given as jwt.claims.iss.
func LoadServe(opts ServeOptions) (*ServeConfig, error) {
	getenv, home := environment(opts.Getenv, opts.Home)
	v := viper.New()
	v.SetConfigType("yaml")
	c := &ServeConfig{}

	file := opts.File
	explicit := file != ""
	if !explicit {
		file = ConfigFile(getenv, home)
	}
	var raw []byte
	if b, err := os.ReadFile(file); err == nil {
		raw = b
		if err := v.ReadConfig(strings.NewReader(string(b))); err != nil {
			return nil, fmt.Errorf("config %s: %w", file, err)
		}
		c.File = file
	} else if explicit || !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config: %w", err)
	}
	for _, k := range serveEnvKeys {
		if val := getenv("APKIT_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))); val != "" {
			v.Set(k, val)
		}
	}
	if f := opts.Flags; f != nil {
		if fl := f.Lookup("listen"); fl != nil && fl.Changed {
			list, _ := f.GetStringSlice("listen")
			v.Set("listen", list)
		}
		if fl := f.Lookup("dir"); fl != nil && fl.Changed {
			v.Set("dir", fl.Value.String())
		}
		if fl := f.Lookup("dev"); fl != nil && fl.Changed {
			v.Set("dev", fl.Value.String())
		}
	}

	var err error
	bad := func(key string, e error) error { return fmt.Errorf("config: %s: %w", key, e) }
	c.Dir = expandHome(v.GetString("dir"), home)
	c.Listen = stringList(v.Get("listen"))
	if c.Dev, err = boolValue(v.Get("dev")); err != nil {
		return nil, bad("dev", err)
	}
	c.SigningKey = expandHome(v.GetString("signing_key"), home)
	c.UploadKeys = expandHome(v.GetString("upload_keys"), home)
	if c.MaxUploadSize, err = ParseSize(v.GetString("max_upload_size")); err != nil {
		return nil, bad("max_upload_size", err)
	}
	if r := strings.TrimSpace(v.GetString("upload_min_rate")); r == "none" {
		c.UploadMinRate = -1
	} else if c.UploadMinRate, err = ParseSize(strings.TrimSuffix(r, "/s")); err != nil {
		return nil, bad("upload_min_rate", err)
	}
	if c.RequestTimeout, err = parseDuration(v.GetString("request_timeout")); err != nil {
		return nil, bad("request_timeout", err)
	}
	c.LogFormat = v.GetString("log_format")
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, bad("log_format", fmt.Errorf("%q is not text or json", c.LogFormat))
	}

	c.TLS.Cert = expandHome(v.GetString("tls.crt"), home)
	c.TLS.Key = expandHome(v.GetString("tls.key"), home)
	if s := v.GetString("tls.redirect.port"); s != "" {
		if c.TLS.Redirect.Port, err = strconv.Atoi(s); err != nil || c.TLS.Redirect.Port < 1 || c.TLS.Redirect.Port > 65535 {
			return nil, bad("tls.redirect.port", fmt.Errorf("%q is not a port", s))
		}
	}
	c.TLS.Redirect.Protocols = v.GetString("tls.redirect.protocols")
	switch c.TLS.Redirect.Protocols {
	case "":
		c.TLS.Redirect.Protocols = "both"
	case "both", "ipv4", "ipv6", "none":
	default:
		return nil, bad("tls.redirect.protocols", fmt.Errorf("%q is not both, ipv4, ipv6 or none", c.TLS.Redirect.Protocols))
	}
	if c.TLS.HSTS.Duration, err = parseDuration(v.GetString("tls.hsts.duration")); err != nil {
		return nil, bad("tls.hsts.duration", err)
	}
	if c.TLS.HSTS.IncludeSubdomains, err = boolValue(v.Get("tls.hsts.include_subdomains")); err != nil {
		return nil, bad("tls.hsts.include_subdomains", err)
	}
	if c.TLS.HSTS.Preload, err = boolValue(v.Get("tls.hsts.preload")); err != nil {
		return nil, bad("tls.hsts.preload", err)
	}
	c.TLS.ACME.Domains = stringList(v.Get("tls.acme.domains"))
	c.TLS.ACME.Cache = expandHome(v.GetString("tls.acme.cache"), home)
	c.TLS.ACME.Email = v.GetString("tls.acme.email")

	c.JWT.JWKS = v.GetString("jwt.jwks")
	c.JWT.Issuer = v.GetString("jwt.issuer")
	c.JWT.Audience = stringList(v.Get("jwt.audience"))
	// Claim names are case-sensitive, and viper folds keys to lower case:
	// read them from the YAML itself.
	if c.JWT.Claims, err = claimsFromYAML(raw); err != nil {
		return nil, bad("jwt.claims", err)
	}

	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *ServeConfig) check() error {
	if c.Dir == "" {
		return errors.New("config: dir: no repository directory (set dir in the config file or use --dir)")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("config: tls: crt and key go together")
	}
	if c.TLS.Cert != "" && len(c.TLS.ACME.Domains) > 0 {
		return errors.New("config: tls: use either crt and key or acme, not both")
	}
	if len(c.TLS.ACME.Domains) > 0 && c.TLS.ACME.Cache == "" {
		return errors.New("config: tls.acme.cache: a cache directory is required with acme")
	}
	if len(c.Listen) == 0 {
		switch {
		case c.Dev:
			c.Listen = []string{"127.0.0.1:8080"}
		case c.TLS.Enabled():
			c.Listen = []string{"0.0.0.0:8443"}
		default:
			c.Listen = []string{"0.0.0.0:8080"}
		}
	}
	for _, a := range c.Listen {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("config: listen: %q: %w", a, err)
		}
		if _, err := strconv.Atoi(port); err != nil {
			return fmt.Errorf("config: listen: %q: bad port", a)
		}
		if c.Dev && !IsLoopback(host) {
			return fmt.Errorf("config: listen: %q: dev mode (no authentication) only listens on loopback addresses", a)
		}
	}
	if c.Dev {
		return nil
	}
	if c.JWT.Issuer == "" {
		// reposerve files name the issuer among the required claims.
		if iss := c.JWT.Claims["iss"]; len(iss) == 1 && !strings.ContainsAny(iss[0], "*?[") {
			c.JWT.Issuer, c.JWT.IssuerFromClaims = iss[0], true
		}
	}
	var missing []string
	if c.JWT.JWKS == "" {
		missing = append(missing, "jwt.jwks")
	}
	if c.JWT.Issuer == "" {
		missing = append(missing, "jwt.issuer")
	}
	if len(c.JWT.Audience) == 0 {
		missing = append(missing, "jwt.audience")
	}
	if len(missing) > 0 {
		hint := ""
		if base, ok := strings.CutSuffix(c.JWT.JWKS, "/oauth/discovery/keys"); ok && c.JWT.Issuer == "" {
			// A GitLab instance: its tokens' iss is its URL.
			hint = fmt.Sprintf("; for GitLab: jwt.issuer: %s", base)
			if len(c.JWT.Audience) == 0 {
				hint += ", jwt.audience: the URL of this server, as the jobs' id_tokens aud"
			}
		}
		if c.JWT.IssuerFromClaims && len(missing) == 1 {
			// A reposerve file: it never checked aud, apkit does.
			hint = "; a reposerve file needs this one line more: jwt.audience: the aud the CI jobs' id_tokens ask for (so that a token made for another service cannot upload here)"
		}
		return fmt.Errorf("config: %s required to check upload tokens (or --dev for an unauthenticated server on loopback)%s", strings.Join(missing, ", "), hint)
	}
	return nil
}

// IsLoopback reports whether host (an IP address or "localhost") is a
// loopback address. The empty host (all interfaces) is not.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// claimsFromYAML reads jwt.claims with its names as written. Values may be
// a string, a boolean, a number, or a list of them.
func claimsFromYAML(raw []byte) (map[string][]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var doc struct {
		JWT struct {
			Claims map[string]any `yaml:"claims"`
		} `yaml:"jwt"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if len(doc.JWT.Claims) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	names := make([]string, 0, len(doc.JWT.Claims))
	for n := range doc.JWT.Claims {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vals := stringList(doc.JWT.Claims[n])
		if len(vals) == 0 {
			return nil, fmt.Errorf("%s: no allowed value", n)
		}
		out[n] = vals
	}
	return out, nil
}

// stringList turns a scalar, a comma-separated string or a list into strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		var out []string
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s := scalar(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s := scalar(v); s != "" {
		return []string{s}
	}
	return nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func boolValue(v any) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case string:
		if x == "" {
			return false, nil
		}
		return strconv.ParseBool(x)
	}
	return false, fmt.Errorf("%v is not true or false", v)
}

// parseDuration reads a number of seconds, a Go duration ("8760h") or a
// number of days, weeks or years ("365d", "52w", "1y").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if k, err := strconv.ParseInt(n, 10, 64); err == nil && k >= 0 {
				return time.Duration(k) * unit, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (seconds, 1y, 365d, 8760h)", s)
	}
	return d, nil
}

// ParseSize reads a size in bytes with an optional unit: k, M, G (powers of
// 1000 with B, of 1024 with iB or alone), e.g. 512M, 1GiB, 100MB, 1048576.
// "" is 0.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	mult := map[string]int64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q", s, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
