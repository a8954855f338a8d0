// Package authtest is an identity provider for tests: it serves a JWKS
// from an httptest server on the loopback interface and mints tokens with
// its own test keys, good ones and bad ones.
package authtest
