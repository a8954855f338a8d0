package scan_test

import (
	"fmt"
	"strings"

	"github.com/apkit-dev/apkit/pkg/scan"
)

func ExampleParsePC() {
	m, err := scan.ParsePC(strings.NewReader(`prefix=/usr
Name: foo
Version: 2.0-rc1
Requires: zlib >= 1.2.11, bar
`))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Version)
	fmt.Println(m.Requires)
	// Output:
	// 2.0_rc1
	// [zlib>=1.2.11 bar]
}
