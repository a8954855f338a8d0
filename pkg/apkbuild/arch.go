package apkbuild

import (
	"maps"
	"runtime"
	"slices"
	"strings"
)

// triplets maps Alpine arch names to GNU triplets (spec §3.2).
var triplets = map[string]string{
	"aarch64":      "aarch64-alpine-linux-musl",
	"aarch64_be":   "aarch64_be-alpine-linux-musl",
	"armel":        "armv5-alpine-linux-musleabi",
	"armhf":        "armv6-alpine-linux-musleabihf",
	"armv7":        "armv7-alpine-linux-musleabihf",
	"loongarch32":  "loongarch32-alpine-linux-musl",
	"loongarchx32": "loongarchx32-alpine-linux-musl",
	"loongarch64":  "loongarch64-alpine-linux-musl",
	"mips":         "mips-alpine-linux-musl",
	"mips64":       "mips64-alpine-linux-musl",
	"mipsel":       "mipsel-alpine-linux-musl",
	"mips64el":     "mips64el-alpine-linux-musl",
	"ppc":          "powerpc-alpine-linux-musl",
	"ppc64":        "powerpc64-alpine-linux-musl",
	"ppc64le":      "powerpc64le-alpine-linux-musl",
	"riscv32":      "riscv32-alpine-linux-musl",
	"riscv64":      "riscv64-alpine-linux-musl",
	"s390x":        "s390x-alpine-linux-musl",
	"sh2eb":        "sh2eb-alpine-linux-muslfdpic",
	"sh3":          "sh3-alpine-linux-musl",
	"sh4":          "sh4-alpine-linux-musl",
	"x86":          "i586-alpine-linux-musl",
	"x86_64":       "x86_64-alpine-linux-musl",
}

// Arches returns Alpine's architecture names, sorted.
func Arches() []string {
	return slices.Sorted(maps.Keys(triplets))
}

// KnownArch reports whether name is one of Alpine's architecture names
// (x86_64, aarch64, ...); "noarch" and "all" are not.
func KnownArch(name string) bool {
	_, ok := triplets[name]
	return ok
}

// Triplet returns the GNU triplet abuild uses for an Alpine arch name. A
// value that already looks like a triplet (contains '-') is returned as is;
// an unknown arch name gives "<arch>-alpine-linux-musl".
func Triplet(arch string) string {
	if strings.Contains(arch, "-") {
		return arch
	}
	if t, ok := triplets[arch]; ok {
		return t
	}
	return arch + "-alpine-linux-musl"
}

// ArchOf returns the Alpine arch name for a GNU triplet (spec §3.2 reverse
// mapping). An arch name is returned as is.
func ArchOf(triplet string) string {
	first, _, ok := strings.Cut(triplet, "-")
	if !ok {
		return triplet
	}
	abi := ""
	if parts := strings.Split(triplet, "-"); len(parts) >= 4 {
		abi = parts[3]
	}
	switch {
	case first == "powerpc":
		return "ppc"
	case first == "powerpc64":
		return "ppc64"
	case first == "powerpc64le":
		return "ppc64le"
	case len(first) == 4 && first[0] == 'i' && first[2:] == "86" && first[1] >= '0' && first[1] <= '9':
		return "x86"
	case strings.HasPrefix(first, "armv6") && strings.HasSuffix(abi, "eabihf"):
		return "armhf"
	case strings.HasPrefix(first, "armv7") && strings.HasSuffix(abi, "eabihf"):
		return "armv7"
	case strings.HasPrefix(first, "arm") && strings.HasSuffix(abi, "eabi"):
		return "armel"
	}
	return first
}

// LibcOf returns the libc name (musl, glibc, uclibc) of a GNU triplet.
func LibcOf(triplet string) string {
	parts := strings.Split(triplet, "-")
	if len(parts) < 4 {
		return "musl"
	}
	switch abi := parts[3]; {
	case strings.HasPrefix(abi, "gnu"):
		return "glibc"
	case strings.HasPrefix(abi, "uclibc"):
		return "uclibc"
	}
	return "musl"
}

// HostArch returns the Alpine name of the machine's architecture.
func HostArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "386":
		return "x86"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7"
	case "loong64":
		return "loongarch64"
	}
	return runtime.GOARCH
}
