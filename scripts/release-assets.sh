#!/bin/sh
# release-assets.sh VERSION [OUTDIR]
#
# Writes what release archives and packages carry besides the binary, into
# OUTDIR (default .release):
#   completions/apkit.bash, completions/_apkit, completions/apkit.fish
#   man/apkit*.1.gz                         one man page per command
#   apkit-VERSION.tar.gz                    the source with vendored modules
#                                           and a COMMIT file, which builds
#                                           with no network
# Needs git, go, gzip and tar; works offline once the module cache holds
# apkit's dependencies (for example after "go test ./...").
set -eu

version=${1:?usage: release-assets.sh VERSION [OUTDIR]}
version=${version#v}
out=${2:-.release}
top=$(git rev-parse --show-toplevel)
cd "$top"

# Dates in the pages and the tarball come from the commit, so that two runs
# give the same bytes.
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct)}"
export SOURCE_DATE_EPOCH

rm -rf "$out"
mkdir -p "$out/completions" "$out/man"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CGO_ENABLED=0 go build -trimpath -o "$tmp/apkit" \
	-ldflags "-X github.com/apkit-dev/apkit/internal/cli.Version=v$version" ./cmd/apkit
"$tmp/apkit" completion bash >"$out/completions/apkit.bash"
"$tmp/apkit" completion zsh >"$out/completions/_apkit"
"$tmp/apkit" completion fish >"$out/completions/apkit.fish"
"$tmp/apkit" gen-docs --man "$out/man" >/dev/null
gzip -n -9 "$out"/man/*.1

# The source tarball: the committed tree plus vendor/.
name=apkit-$version
git archive --format=tar --prefix="$name/" HEAD | tar -x -C "$tmp"
(cd "$tmp/$name" && go mod vendor)
# The commit, for builds from the tarball: -X ...internal/cli.Commit=$(cat COMMIT)
git rev-parse HEAD >"$tmp/$name/COMMIT"
tar -C "$tmp" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
	-cf - "$name" | gzip -n -9 >"$out/$name.tar.gz"
echo "$out"
