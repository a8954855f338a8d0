package build_test

import (
	"fmt"

	"github.com/apkit-dev/apkit/pkg/build"
)

func ExampleParsePhases() {
	phases, err := build.ParsePhases("prepare,unpack")
	if err != nil {
		panic(err)
	}
	fmt.Println(phases)
	phases, _ = build.ParsePhases("rootpkg")
	fmt.Println(phases)
	// Output:
	// [unpack prepare]
	// [package index]
}
