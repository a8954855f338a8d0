// Package config resolves apkit's settings once, from (highest first) command
// line flags, APKIT_* environment variables, apkit's config file, an existing
// abuild configuration, and defaults. It is the only package that uses viper.
package config
