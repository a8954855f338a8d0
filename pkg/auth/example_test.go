package auth_test

import (
	"fmt"

	"github.com/apkit-dev/apkit/pkg/auth"
)

func ExampleRule_Match() {
	// Uploads from any project of the group, from main or a release branch.
	project := auth.Rule{"group/*"}
	ref := auth.Rule{"main", "release-*"}
	fmt.Println(project.Match("group/app"), project.Match("group/sub/app"))
	fmt.Println(ref.Match("main"), ref.Match("release-1.2"), ref.Match("feature"))
	// Output:
	// true false
	// true true false
}
