// Package auth verifies the JSON Web Tokens that CI jobs present when they
// upload packages: the signature against a JWKS fetched from the identity
// provider (RS256 and ES256 only), the registered claims exp, nbf, iat, iss
// and aud, and the required claims a server is configured with.
//
// Parsing and signature checks are done by github.com/go-jose/go-jose/v4;
// this package adds the key set cache, the algorithm and key type policy
// and the claim rules.
package auth
