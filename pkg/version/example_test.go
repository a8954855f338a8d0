package version_test

import (
	"fmt"

	"github.com/apkit-dev/apkit/pkg/version"
)

func ExampleCompare() {
	fmt.Println(version.Compare("1.0_rc1", "1.0"))
	fmt.Println(version.Compare("1.10", "1.9"))
	// Output:
	// -1
	// 1
}

func ExampleParseDependency() {
	d, _ := version.ParseDependency("musl-dev>=1.2")
	fmt.Println(d.Name, d.Op, d.Version, d.Satisfies("1.2.5-r0"))
	// Output: musl-dev >= 1.2 true
}
