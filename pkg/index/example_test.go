package index_test

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/apkit-dev/apkit/pkg/index"
)

func ExampleParseText() {
	recs, err := index.ParseText([]byte("C:Q1GzcgLD4QLgxRjM+V3jn8JU0OZOw=\nP:hello\nV:2.12.1-r0\nA:x86_64\nS:1300\nI:27\n" +
		"T:Friendly greeting program\nU:https://www.gnu.org/software/hello/\nL:GPL-3.0-or-later\np:cmd:hello=2.12.1-r0\n\n"))
	if err != nil {
		log.Fatal(err)
	}
	r := recs[0]
	fmt.Println(r.FileName(), r.Size, r.InstalledSize, r.Provides)
	// Output: hello-2.12.1-r0.apk 1300 27 [cmd:hello=2.12.1-r0]
}

func ExampleIdentity() {
	// The SHA-1 of a package's control gzip member (here of "abc", the
	// format reference's test vector) gives its C: value.
	sum := sha1.Sum([]byte("abc"))
	fmt.Println(index.Identity(sum[:]))
	// Output: Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0=
}

func ExampleWrite() {
	ix := &index.Index{
		Description: "main v3.21.0",
		ModTime:     time.Unix(1700000000, 0),
		Records: []*index.Record{{
			Checksum: "Q1GzcgLD4QLgxRjM+V3jn8JU0OZOw=", Name: "hello", Version: "2.12.1-r0", Arch: "x86_64",
			Size: 1300, InstalledSize: 27, Description: "Friendly greeting program", License: "GPL-3.0-or-later",
		}},
	}
	var b bytes.Buffer
	// index.WriteSigned(&b, ix, key, sign.RSA256) adds the signature.
	if err := index.Write(&b, ix); err != nil {
		log.Fatal(err)
	}
	back, err := index.Read(&b)
	if err != nil {
		log.Fatal(err)
	}
	index.WriteText(os.Stdout, back.Records)
	// Output:
	// C:Q1GzcgLD4QLgxRjM+V3jn8JU0OZOw=
	// P:hello
	// V:2.12.1-r0
	// A:x86_64
	// S:1300
	// I:27
	// T:Friendly greeting program
	// U:
	// L:GPL-3.0-or-later
}
