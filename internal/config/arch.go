package config

import "runtime"

func numCPU() int { return runtime.NumCPU() }

// HostArch returns the Alpine name of the machine's architecture (what
// `apk --print-arch` prints), e.g. x86_64 or aarch64.
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
	case "ppc64le":
		return "ppc64le"
	case "s390x":
		return "s390x"
	case "riscv64":
		return "riscv64"
	case "loong64":
		return "loongarch64"
	}
	return runtime.GOARCH
}
