package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNewAccounts: pkggroups and pkgusers get the first free ids from 101
// and 100 in the recipe's order, the root's own names keep their entries,
// a user's primary group is its namesake or nobody's, and the package
// records the recipe's names (and root) with id 0, others with their ids.
func TestNewAccounts(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\nmessagebus:x:100:101::/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n",
		"group":  "root:x:0:\nusers:x:100:\nmessagebus:x:101:\nnobody:x:65534:\n",
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(root, "etc", n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	a, err := newAccounts(root, dir, []string{"svc", "lonely", "messagebus"}, []string{"svc", "extra"})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		a.passwd: files["passwd"] + "svc:x:101:102:svc:/dev/null:/sbin/nologin\nlonely:x:102:65534:lonely:/dev/null:/sbin/nologin\n",
		a.group:  files["group"] + "svc:x:102:\nextra:x:103:\n",
	} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, string(got)); d != "" {
			t.Errorf("%s (-want +got):\n%s", filepath.Base(path), d)
		}
	}
	type rec struct {
		name string
		id   int
	}
	for _, c := range []struct {
		spec string
		want rec
	}{{"svc", rec{"svc", 0}}, {"101", rec{"svc", 0}}, {"root", rec{"root", 0}}, {"messagebus", rec{"messagebus", 0}},
		{"nobody", rec{"nobody", 65534}}, {"4242", rec{"", 4242}}} {
		name, id := owner(c.spec, a.uid, a.userOf, a.ownUser)
		if got := (rec{name, id}); got != c.want {
			t.Errorf("user %s: got %+v, want %+v", c.spec, got, c.want)
		}
	}
	if _, err := newAccounts(root, dir, []string{"bad:name"}, nil); err == nil || !strings.Contains(err.Error(), `"bad:name"`) {
		t.Errorf("pkgusers with a colon: %v", err)
	}
}
