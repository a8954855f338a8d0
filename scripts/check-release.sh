#!/bin/sh
# check-release.sh: check the release configuration the way a release uses it.
#
#   goreleaser check, then "goreleaser release --snapshot --clean" in a clone
#   of HEAD with the module proxy turned off (the release needs no network
#   once the module cache is filled), then checks what it made: checksums,
#   one .apk per Alpine architecture and one .deb per Debian one, both
#   carrying the binary, the completions and the man pages; a binary that
#   prints its version and commit and verifies the .apk packages, signed
#   with a throwaway key; a source tarball that builds offline.
#
# GORELEASER names the goreleaser command (default: the pinned version
# below, installed into a temporary directory). Needs git, go, tar, gzip, sha256sum; dpkg-deb when present.
set -eu

# v2.15.0 is the newest goreleaser that builds with Go 1.26 from the module
# proxy alone.
goreleaser_version=v2.15.0

top=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-release: $*" >&2; exit 1; }

if [ -z "${GORELEASER:-}" ]; then
	GOBIN="$tmp/bin" go install "github.com/goreleaser/goreleaser/v2@$goreleaser_version"
	GORELEASER=$tmp/bin/goreleaser
fi

# A clone of HEAD: a clean tree with an origin remote, as a release has.
git clone -q --no-local "$top" "$tmp/src"
cd "$tmp/src"
go mod download
$GORELEASER check
# A throwaway release key, so that the .apk signing configuration is
# exercised too.
APKIT_CONFIG="$tmp/config.yaml" go run ./cmd/apkit keygen --name release@apkit.invalid --bits 2048 --dir "$tmp/keys" >/dev/null 2>&1
APKIT_RELEASE_KEY=$(ls "$tmp"/keys/*.rsa)
export APKIT_RELEASE_KEY
GOPROXY=off GOFLAGS=-mod=mod $GORELEASER release --snapshot --clean >"$tmp/release.log" 2>&1 ||
	{ cat "$tmp/release.log" >&2; fail "snapshot release failed"; }

cd dist
grep -v '\.tar\.gz$' checksums.txt | sha256sum -c --quiet || fail "checksums.txt does not match dist/"

version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' metadata.json)
[ -n "$version" ] || fail "no version in dist/metadata.json"
apkver=$(echo "$version" | sed 's/-/_/')
debver=$(echo "$version" | sed 's/-/~/')

for arch in x86_64 aarch64 x86 armhf armv7 ppc64le s390x riscv64 loongarch64; do
	f=apkit_${apkver}-r0_$arch.apk
	[ -f "$f" ] || fail "missing $f"
	# An .apk is concatenated gzip streams; the control one holds .PKGINFO.
	info=$(tar -xzOf "$f" .PKGINFO 2>/dev/null) || fail "$f: no .PKGINFO"
	echo "$info" | grep -qx "arch = $arch" || fail "$f: .PKGINFO arch is not $arch"
	echo "$info" | grep -qx "pkgver = $apkver-r0" || fail "$f: .PKGINFO pkgver is not $apkver-r0:
$info"
	list=$(tar -tzf "$f" 2>/dev/null)
	for p in usr/bin/apkit usr/share/bash-completion/completions/apkit \
		usr/share/zsh/site-functions/_apkit usr/share/fish/vendor_completions.d/apkit.fish \
		usr/share/man/man1/apkit.1.gz; do
		echo "$list" | grep -qx "$p" || fail "$f lacks $p"
	done
done
for arch in amd64 arm64 i386 armhf ppc64el s390x riscv64 loong64; do
	f=apkit_${debver}-1_$arch.deb
	[ -f "$f" ] || fail "missing $f"
	if command -v dpkg-deb >/dev/null 2>&1; then
		list=$(dpkg-deb -c "$f")
		echo "$list" | grep -q '\./usr/share/man/man1/apkit\.1\.gz$' || fail "$f lacks the man page"
		echo "$list" | grep -q '\./usr/share/bash-completion/completions/apkit$' || fail "$f lacks the bash completion"
	fi
done

# The binary is static and knows its version and commit.
bin=$(ls -d apkit_linux_amd64*/apkit)
out=$("$bin" version)
echo "$out" | grep -q "^apkit v$version (commit $(git -C .. rev-parse HEAD)," || fail "apkit version printed: $out"
if command -v file >/dev/null 2>&1; then
	file "$bin" | grep -q 'statically linked' || fail "$bin is not static"
fi

# apkit itself accepts every .apk: signed by the release key, intact.
"$bin" verify --keys-dir "$tmp/keys" apkit_*.apk >"$tmp/verify.log" ||
	{ cat "$tmp/verify.log" >&2; fail "apkit verify refused the release packages"; }

# The source tarball holds vendor/ and builds with no network.
src=$(ls ../.release/apkit-*.tar.gz)
(cd ../.release && grep "  ${src##*/}\$" ../dist/checksums.txt | sha256sum -c --quiet) ||
	fail "checksums.txt does not list ${src##*/} with its checksum"
mkdir "$tmp/unpack"
tar -xzf "$src" -C "$tmp/unpack"
(cd "$tmp"/unpack/apkit-* && GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 go build -o "$tmp/apkit-from-tarball" ./cmd/apkit) ||
	fail "the source tarball does not build offline"
"$tmp/apkit-from-tarball" version >/dev/null

echo "check-release: ok ($version)"
