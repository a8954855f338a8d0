package auth_test

import (
	"context"
	"testing"

	"github.com/apkit-dev/apkit/pkg/auth"
)

// FuzzVerify feeds arbitrary tokens to a verifier: it must not panic and
// must accept nothing it was not given by the provider.
func FuzzVerify(f *testing.F) {
	p := provider(f)
	good, err := p.Token("s")
	if err != nil {
		f.Fatal(err)
	}
	es, _ := p.ES256(p.Claims("s"))
	for _, s := range []string{"", "a.b.c", good, es, good[:len(good)/2], good + "x", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s)
	}
	v, err := auth.New(auth.Options{
		JWKSURL: p.JWKSURL, Issuer: p.Issuer, Audience: []string{"https://packages.example.test"},
		HTTPClient: p.Server.Client(),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := v.Verify(context.Background(), tok)
		if err == nil && tok != good && tok != es {
			t.Fatalf("accepted a token the provider did not mint: %q (%+v)", tok, id)
		}
	})
}
