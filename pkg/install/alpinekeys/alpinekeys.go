// Package alpinekeys holds Alpine Linux's public release signing keys, the
// ones the alpine-keys package installs into /etc/apk/keys, and which of them
// each architecture trusts.
//
// The keys are embedded byte for byte as aports main/alpine-keys ships them
// (alpine-keys 2.4-r1), under the file names Alpine's signatures name them by.
// Newer Alpine releases may add keys for new architectures; callers take
// further keys from a directory (see [github.com/apkit-dev/apkit/pkg/sign.LoadKeyring]).
package alpinekeys

import (
	"embed"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apkit-dev/apkit/pkg/sign"
)

//go:embed keys/*.rsa.pub
var keyFiles embed.FS

const prefix = "alpine-devel@lists.alpinelinux.org-"

// byArch lists, for each architecture, the keys the alpine-keys package
// installs into /etc/apk/keys, by their short ids.
var byArch = map[string][]string{
	"x86_64":  {"4a6a0840", "5261cecb", "6165ee59"},
	"x86":     {"4a6a0840", "5243ef4b", "61666e3f"},
	"aarch64": {"58199dcc", "616ae350"},
	"armv7":   {"524d27bb", "616adfeb"},
	"armhf":   {"524d27bb", "616a9724"},
	"ppc64le": {"58cbb476", "616abc23"},
	"s390x":   {"58e4f17d", "616ac3bc"},
	"riscv64": {"60ac2099", "616db30d"},
	"mips64":  {"5e69ca50"},
}

// File is one embedded public key.
type File struct {
	// Name is the key's file name, as signatures name it
	// ("alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub").
	Name string
	// Data is the key file's content (PEM).
	Data []byte
}

// Arches returns the architectures there are keys for, sorted.
func Arches() []string {
	a := make([]string, 0, len(byArch))
	for k := range byArch {
		a = append(a, k)
	}
	sort.Strings(a)
	return a
}

// Files returns the keys Alpine trusts for arch, in the order of their
// names. An architecture without keys gives an error naming the known ones.
func Files(arch string) ([]File, error) {
	ids, ok := byArch[arch]
	if !ok {
		return nil, fmt.Errorf("alpine release keys: no keys for arch %q (known: %v)", arch, Arches())
	}
	files := make([]File, 0, len(ids))
	for _, id := range ids {
		name := prefix + id + ".rsa.pub"
		data, err := keyFiles.ReadFile("keys/" + name)
		if err != nil {
			return nil, fmt.Errorf("alpine release keys: %w", err)
		}
		files = append(files, File{Name: name, Data: data})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

// AddTo trusts the keys of arch in kr.
func AddTo(kr *sign.Keyring, arch string) error {
	files, err := Files(arch)
	if err != nil {
		return err
	}
	for _, f := range files {
		pub, err := sign.ParsePublicKey(f.Data)
		if err != nil {
			return fmt.Errorf("alpine release key %s: %w", f.Name, err)
		}
		kr.Add(f.Name, pub)
	}
	return nil
}
