#!/bin/sh
# add-simulate.sh times `apkit add --simulate` on a real APKINDEX.tar.gz,
# and, when APK names an apk-tools binary, `apk add --simulate` on the same
# index and root, the two interleaved run by run so that both see the same
# load. It prints the median wall and CPU (user+sys) time of each.
#
#   APKIT=./apkit APK=/path/to/apk KEYS=pkg/install/alpinekeys/keys \
#   INDEX=APKINDEX.tar.gz ARCH=aarch64 RUNS=30 bench/add-simulate.sh build-base avahi-ui-dev
#
# The index must be signed by one of Alpine's keys for ARCH; apk finds them
# in KEYS, a directory of the public keys (apkit has them built in).
set -eu
: "${APKIT:=apkit}" "${APK:=}" "${RUNS:=20}" "${ARCH:=aarch64}"
: "${INDEX:?INDEX must name an APKINDEX.tar.gz}"
[ $# -gt 0 ] || set -- build-base
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# An empty root with an apk database, as apk add --initdb leaves it.
mkdir -p "$work/repo/$ARCH" "$work/root/etc/apk/keys" "$work/root/lib/apk/db"
: >"$work/root/lib/apk/db/installed"
: >"$work/root/etc/apk/world"
echo "$ARCH" >"$work/root/etc/apk/arch"
cp "$INDEX" "$work/repo/$ARCH/APKINDEX.tar.gz"
if [ -n "${KEYS:-}" ]; then
	cp "$KEYS"/*.pub "$work/root/etc/apk/keys/"
fi
echo "$work/repo" >"$work/root/etc/apk/repositories"
# One run: prints "wall cpu" in milliseconds (the wall time to the
# millisecond, the CPU time as /usr/bin/time gives it, to 10 ms).
run() {
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$work/t" "$@" >"$work/out" 2>&1
	t1=$(date +%s%N)
	awk -v w=$(((t1 - t0) / 1000000)) '{printf "%d %d\n", w, ($1+$2)*1000}' "$work/t"
}
i=0
while [ "$i" -lt "$RUNS" ]; do
	run "$APKIT" add --root "$work/root" --simulate "$@" >>"$work/apkit.times"
	cp "$work/out" "$work/apkit.out"
	if [ -n "$APK" ]; then
		run "$APK" --root "$work/root" --simulate --no-cache add "$@" >>"$work/apk.times"
		cp "$work/out" "$work/apk.out"
	fi
	i=$((i + 1))
done
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
quartile() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+3)/4)]}'; }
for t in apkit apk; do
	[ -f "$work/$t.times" ] || continue
	printf '%-6s median wall %4d ms (first quartile %4d ms), cpu %4d ms over %d runs\n' "$t" \
		"$(cut -d' ' -f1 "$work/$t.times" | median)" "$(cut -d' ' -f1 "$work/$t.times" | quartile)" \
		"$(cut -d' ' -f2 "$work/$t.times" | median)" "$RUNS"
done
if [ -n "$APK" ] && ! cmp -s "$work/apkit.out" "$work/apk.out"; then
	echo "outputs differ:" >&2
	diff "$work/apk.out" "$work/apkit.out" >&2 || true
	exit 1
fi
