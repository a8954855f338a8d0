#!/bin/sh
# add-install.sh times `apkit add` installing 25 packages of 40 files each
# from a local repository into a fresh root, and, when APK names an
# apk-tools binary, `apk add` doing the same, the two interleaved run by run
# so that both see the same load. Making each fresh root and syncing the file
# system are not timed. It prints the median and first-quartile wall time
# of each.
#
#   APKIT=./apkit APK=/path/to/apk RUNS=20 ROOTS=/dev/shm bench/add-install.sh
#
# ROOTS is where the roots are made (default: a temporary directory); a
# tmpfs leaves out the file system's own cost, which both pay alike. Run it
# from the source tree: the repository is written by a Go test helper.
set -eu
: "${APKIT:=apkit}" "${APK:=}" "${RUNS:=20}"
work=$(mktemp -d)
trap 'rm -rf "$work" "${ROOTS:-$work}/root-apkit" "${ROOTS:-$work}/root-apk"' EXIT
roots=${ROOTS:-$work}
go test ./pkg/install -run '^TestWriteBenchRepo$' -count 1 -args -bench-repo "$work/repo" >/dev/null
names=$(cd "$work/repo/x86_64" && ls ./*.apk | sed 's|^\./||; s|-1\.0-r0\.apk$||' | tr '\n' ' ')
fresh() {
	rm -rf "$1"
	mkdir -p "$1/etc/apk/keys"
	cp "$work/repo/keys/"* "$1/etc/apk/keys/"
	sync
}
now() { date +%s%N; }
i=0
while [ "$i" -lt "$RUNS" ]; do
	fresh "$roots/root-apkit"
	t0=$(now)
	# shellcheck disable=SC2086
	"$APKIT" add --root "$roots/root-apkit" --initdb --arch x86_64 --no-scripts -X "$work/repo" $names >/dev/null
	echo $((($(now) - t0) / 1000000)) >>"$work/apkit.times"
	if [ -n "$APK" ]; then
		fresh "$roots/root-apk"
		t0=$(now)
		# shellcheck disable=SC2086
		"$APK" --root "$roots/root-apk" --initdb --arch x86_64 --no-cache --no-scripts -X "$work/repo" add $names >/dev/null
		echo $((($(now) - t0) / 1000000)) >>"$work/apk.times"
	fi
	i=$((i + 1))
done
stat() { sort -n | awk '{a[NR]=$1} END{printf "median %4d ms, first quartile %4d ms", a[int((NR+1)/2)], a[int((NR+3)/4)]}'; }
for t in apkit apk; do
	[ -f "$work/$t.times" ] || continue
	printf '%-6s %s over %d runs\n' "$t" "$(stat <"$work/$t.times")" "$RUNS"
done
