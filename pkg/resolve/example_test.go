package resolve_test

import (
	"errors"
	"fmt"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/resolve"
)

func Example() {
	recs, err := index.ParseText([]byte(`C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=
P:app
V:1.0-r0
I:1048576
D:so:libfoo.so.1 /bin/sh

C:Q1AQEBAQEBAQEBAQEBAQEBAQEBAQE=
P:libfoo
V:1.2-r0
I:1048576
p:so:libfoo.so.1=1.2

C:Q1AgICAgICAgICAgICAgICAgICAgI=
P:busybox-binsh
V:1.36-r0
I:1048576
k:100
p:/bin/sh

C:Q1AwMDAwMDAwMDAwMDAwMDAwMDAwM=
P:dash-binsh
V:0.5-r0
I:1048576
k:60
p:/bin/sh

`))
	if err != nil {
		panic(err)
	}
	db, err := resolve.NewDB(resolve.Config{
		Arch:         "x86_64",
		Repositories: []resolve.Repository{{Records: recs}},
	})
	if err != nil {
		panic(err)
	}
	plan, err := db.Solve(resolve.Request{Add: []string{"app"}})
	if err != nil {
		panic(err)
	}
	for _, line := range plan.Lines() {
		fmt.Println(line)
	}

	_, err = db.Solve(resolve.Request{Add: []string{"app", "nosuch"}})
	var uerr *resolve.UnsatisfiableError
	if errors.As(err, &uerr) {
		fmt.Print("ERROR: ", err, "\n")
	}
	// Output:
	// (1/3) Installing libfoo (1.2-r0)
	// (2/3) Installing busybox-binsh (1.36-r0)
	// (3/3) Installing app (1.0-r0)
	// OK: 3 MiB in 3 packages
	// ERROR: unable to select packages:
	//   nosuch (no such package):
	//     required by: world[nosuch]
}
