# apkit phase driver: run one phase of an APKBUILD with abuild's semantics.
#
# Usage: sh -c "$driver" apkit-phase PHASE [SUBPKGNAME SPLITFUNC SUBPKGARCH]
#
# The caller sets the environment (startdir, srcdir, pkgbasedir, tmpdir,
# APKBUILD, CARCH, CHOST, ... and APKIT_META). The driver defines abuild's
# helper and default functions, sources the APKBUILD, runs the phase with
# set -e, and on success writes the recipe's metadata variables, as the
# phase left them, to $APKIT_META as NUL-separated name/value pairs.
set -e
umask 022

_apkit_phase=$1

msg() {
	printf '>>> %s: %s\n' "${subpkgname:-$pkgname}" "$*" >&2
}
msg2() {
	printf '    %s\n' "$*" >&2
}
warning() {
	printf '>>> WARNING: %s: %s\n' "${subpkgname:-$pkgname}" "$*" >&2
}
warning2() {
	printf '    %s\n' "$*" >&2
}
error() {
	printf '>>> ERROR: %s: %s\n' "${subpkgname:-$pkgname}" "$*" >&2
}
die() {
	error "$@"
	exit 1
}

# options_has OPT: OPT, or <current package>::OPT, is in $options.
options_has() {
	local _o
	for _o in $options; do
		[ "$_o" = "$1" ] && return 0
		[ "$_o" = "${subpkgname:-$pkgname}::$1" ] && return 0
	done
	return 1
}
subpackages_has() {
	local _s
	for _s in $subpackages; do
		[ "${_s%%:*}" = "$1" ] && return 0
	done
	return 1
}
_apkit_list_has() {
	local _want=$1 _d _n
	shift
	for _d in "$@"; do
		_n=${_d#!}
		_n=${_n%%[<>=~]*}
		[ "$_n" = "$_want" ] && return 0
	done
	return 1
}
depends_has() {
	_apkit_list_has "$1" $depends
}
makedepends_has() {
	_apkit_list_has "$1" $makedepends
}
cross_compiling() {
	[ "$CBUILD" != "$CHOST" ]
}
cross_creating() {
	[ "$CHOST" != "$CTARGET" ]
}
want_check() {
	[ -n "$ABUILD_BOOTSTRAP" ] && return 1
	cross_compiling && return 1
	options_has "!check" && return 1
	return 0
}

# update_config_sub / update_config_guess: replace the recipe's copies
# with the build root's newer ones when it has them.
_apkit_update_config() {
	local _name=$1 _new="" _c _f
	for _c in /usr/share/abuild/$_name /usr/share/misc/$_name /usr/share/automake-*/$_name /usr/share/libtool/build-aux/$_name; do
		if [ -f "$_c" ]; then
			_new=$_c
			break
		fi
	done
	[ -n "$_new" ] || die "no $_name in the build root"
	find "${builddir:-.}" -name "$_name" -type f | while read -r _f; do
		msg "Updating $_f"
		cp "$_new" "$_f"
	done
}
update_config_sub() {
	_apkit_update_config config.sub
}
update_config_guess() {
	_apkit_update_config config.guess
}

# _apkit_savename SOURCE: the file name a source entry is saved as.
_apkit_savename() {
	case $1 in
	*::*) printf '%s\n' "${1%%::*}" ;;
	*) printf '%s\n' "${1##*/}" ;;
	esac
}

# Fetching, verifying and unpacking are apkit's own steps; the defaults
# are kept so that recipes calling them still work.
default_fetch() {
	:
}
default_unpack() {
	:
}
default_verify() {
	:
}
fetch() {
	default_fetch
}
unpack() {
	default_unpack
}
verify() {
	default_verify
}

# _apkit_patch runs patch, or busybox's when patch is not installed.
_apkit_patch() {
	if command -v patch >/dev/null 2>&1; then
		patch "$@"
	else
		busybox patch "$@"
	fi
}

default_prepare() {
	local _s _name _failed=""
	mkdir -p "$tmpdir"
	[ -z "$GOTMPDIR" ] || mkdir -p "$GOTMPDIR"
	[ ! -d "$builddir" ] || cd "$builddir"
	for _s in $source; do
		_name=$(_apkit_savename "$_s")
		case $_name in
		*.patch | *.patch.gz | *.patch.xz) ;;
		*) continue ;;
		esac
		[ -d "$builddir" ] || die "builddir $builddir does not exist: cannot apply $_name"
		msg "$_name"
		case $_name in
		*.gz)
			if ! gunzip -c "$srcdir/$_name" | _apkit_patch ${patch_args_cfg} ${patch_args:--p1}; then
				_failed="$_failed $_name"
			fi
			;;
		*.xz)
			if ! unxz -c "$srcdir/$_name" | _apkit_patch ${patch_args_cfg} ${patch_args:--p1}; then
				_failed="$_failed $_name"
			fi
			;;
		*)
			if ! _apkit_patch ${patch_args_cfg} ${patch_args:--p1} -i "$srcdir/$_name"; then
				_failed="$_failed $_name"
			fi
			;;
		esac
	done
	if [ -n "$_failed" ]; then
		error "patches failed to apply:"
		for _s in $_failed; do
			error "  $_s"
		done
		return 1
	fi
}
prepare() {
	default_prepare
}
build() {
	:
}
check() {
	warning "APKBUILD does not run any tests!"
}

# amove PATH...: move paths (relative to $pkgdir, leading and trailing /
# ignored) to the same place in $subpkgdir. As abuild's, it takes each
# argument as it is: a glob the caller quoted is not expanded, and names
# nothing. Fails if any argument named nothing, after moving the others.
amove() {
	[ -n "$subpkgdir" ] || die "amove is only available in split functions"
	local _back _ret=0 _f _dir
	_back=$(pwd -L)
	cd "$pkgdir"
	for _f; do
		_f=${_f#"${_f%%[!/]*}"}
		_f=${_f%"${_f##*[!/]}"}
		if [ -e "$_f" ] || [ -L "$_f" ]; then
			case $_f in
			*/*) _dir=${_f%/*} ;;
			*) _dir="" ;;
			esac
			mkdir -p "$subpkgdir/$_dir"
			mv "$_f" "$subpkgdir/$_dir/"
			[ -z "$_dir" ] || rmdir -p "$_dir" 2>/dev/null || true
		else
			warning "amove: $_f: no such file"
			_ret=1
		fi
	done
	cd "$_back"
	return $_ret
}

# _apkit_amove_found: amove only the arguments that exist.
_apkit_amove_found() {
	local _a _f
	for _a; do
		for _f in "$pkgdir"/${_a#/}; do
			if [ -e "$_f" ] || [ -L "$_f" ]; then
				amove "${_f#"$pkgdir"/}"
			fi
		done
	done
}

# _apkit_base SUFFIX: the subpackage name without SUFFIX.
_apkit_base() {
	printf '%s\n' "${subpkgname%"$1"}"
}

# _apkit_gzip9 FILE: compress FILE to FILE.gz as abuild does on Alpine,
# whose gzip is busybox's: no name, mtime 0, XFL 0, OS 3 (Unix) in the
# header, and busybox's deflate stream. GNU gzip is the fallback where
# there is no busybox (its header has XFL 2 and its stream may differ).
_apkit_gzip9() {
	if [ -z "${_apkit_busybox_gzip-}" ]; then
		_apkit_busybox_gzip=no
		if command -v busybox >/dev/null 2>&1 && busybox gzip -c </dev/null >/dev/null 2>&1; then
			_apkit_busybox_gzip=yes
		fi
	fi
	if [ "$_apkit_busybox_gzip" = yes ]; then
		busybox gzip -9 "$1"
	else
		gzip -n -9 "$1"
	fi
}

_apkit_compress_man() {
	local _mandir="$subpkgdir/usr/share/man" _l _f _ino _other
	[ -d "$_mandir" ] || return 0
	# Symlinks first: point them at the compressed names.
	find "$_mandir" -type l \( -name '*.[0-9n]' -o -name '*.[0-9n][a-z]*' \) \
		! \( -name '*.gz' -o -name '*.bz2' -o -name '*.xz' \) | while read -r _l; do
		ln -s "$(readlink "$_l").gz" "$_l.gz"
		rm -f "$_l"
	done
	find "$_mandir" -type f \( -name '*.[0-9n]' -o -name '*.[0-9n][a-z]*' \) \
		! \( -name '*.gz' -o -name '*.bz2' -o -name '*.xz' \) | sort | while read -r _f; do
		[ -f "$_f" ] || continue
		_ino=$(ls -i "$_f" | awk '{print $1}')
		# Further hard links of the same file become symlinks.
		find "$_mandir" -type f -inum "$_ino" ! -path "$_f" | while read -r _other; do
			rm -f "$_other"
			ln -s "${_f##*/}.gz" "$_other.gz"
		done
		_apkit_gzip9 "$_f"
	done
}

default_doc() {
	local _d
	depends="$depends_doc"
	pkgdesc="$pkgdesc (documentation)"
	install_if="docs $pkgname=$pkgver-r$pkgrel"
	for _d in doc man info html sgml licenses gtk-doc ri help; do
		_apkit_amove_found "usr/share/$_d"
	done
	_apkit_compress_man
	rm -f "$subpkgdir/usr/share/info/dir"
}

# _apkit_subpackage_types_has TYPE: some subpackage's name ends in -TYPE
# (abuild's subpackage_types_has).
_apkit_subpackage_types_has() {
	local _s
	for _s in $subpackages; do
		_s=${_s%%:*}
		[ "${_s##*-}" = "$1" ] && return 0
	done
	return 1
}

default_dev() {
	local _p
	depends="$depends_dev"
	pkgdesc="$pkgdesc (development files)"
	_apkit_amove_found usr/include usr/lib/pkgconfig usr/share/pkgconfig \
		usr/share/aclocal usr/share/gettext 'usr/bin/*-config' \
		usr/share/vala/vapi 'usr/share/gir-[0-9]*' 'usr/share/qt*/mkspecs' \
		'usr/lib/qt*/mkspecs' usr/lib/cmake usr/share/cmake \
		usr/lib/glade/modules usr/share/glade/catalogs
	cd "$pkgdir"
	find . -type d -name include -prune | while read -r _d; do
		amove "${_d#./}"
	done
	for _p in usr lib; do
		[ -d "$_p" ] || continue
		if ! _apkit_subpackage_types_has static; then
			find "$_p" -name '*.a' \( -type f -o -type l \) | while read -r _f; do
				amove "$_f"
			done
		fi
		find "$_p" \( -name '*.c' -o -name '*.h' -o -name '*.o' -o -name '*.prl' \) \
			\( -type f -o -type l \) | while read -r _f; do
			amove "$_f"
		done
	done
	for _p in lib/*.so usr/lib/*.so; do
		if [ -L "$_p" ]; then
			amove "$_p"
		fi
	done
}

default_static() {
	local _base _p
	_base=$(_apkit_base -static)
	_base=${_base%-libs}
	pkgdesc="$pkgdesc (static library)"
	if [ -n "$depends_static" ]; then
		depends="$depends_static"
	elif subpackages_has "$_base-dev"; then
		depends="$_base-dev"
	else
		depends=""
	fi
	cd "$pkgdir"
	for _p in usr/lib lib; do
		[ -d "$_p" ] || continue
		find "$_p" -name '*.a' \( -type f -o -type l \) | while read -r _f; do
			amove "$_f"
		done
	done
}

default_libs() {
	depends="$depends_libs"
	pkgdesc="$pkgdesc (libraries)"
	_apkit_amove_found 'lib/lib*.so.[0-9]*' 'usr/lib/lib*.so.[0-9]*'
}

# The driver's caller lists the shared objects of every package in
# $APKIT_DBG_FILES (one absolute path a line) before running the dbg split.
# As in abuild, the default split functions create $subpkgdir only by
# moving something into it: a subpackage that gets nothing fails.
default_dbg() {
	local _f _rel _dbg
	depends=""
	pkgdesc="$pkgdesc (debug symbols)"
	[ -n "$APKIT_DBG_FILES" ] && [ -s "$APKIT_DBG_FILES" ] || return 0
	while read -r _f; do
		[ -n "$_f" ] || continue
		_rel=${_f#"$pkgbasedir"/}
		_rel=${_rel#*/}
		_dbg="$subpkgdir/usr/lib/debug/$_rel.debug"
		mkdir -p "${_dbg%/*}"
		objcopy --only-keep-debug "$_f" "$_dbg"
		objcopy --add-gnu-debuglink="$_dbg" --strip-unneeded -R .comment "$_f" "$_f.apkit-dbg"
		cat "$_f.apkit-dbg" > "$_f"
		rm -f "$_f.apkit-dbg"
	done < "$APKIT_DBG_FILES"
}

default_openrc() {
	local _base
	_base=$(_apkit_base -openrc)
	depends="$depends_openrc"
	pkgdesc="$pkgdesc (OpenRC init scripts)"
	install_if="openrc $_base=$pkgver-r$pkgrel"
	_apkit_amove_found etc/conf.d etc/init.d etc/user/conf.d etc/user/init.d
}

default_systemd() {
	local _base
	_base=$(_apkit_base -systemd)
	depends="$depends_systemd"
	pkgdesc="$pkgdesc (systemd files)"
	install_if="systemd $_base=$pkgver-r$pkgrel"
	_apkit_amove_found usr/lib/systemd
}

default_udev() {
	local _base
	_base=$(_apkit_base -udev)
	depends="$depends_udev"
	pkgdesc="$pkgdesc (udev rules)"
	install_if="udev $_base=$pkgver-r$pkgrel"
	_apkit_amove_found usr/lib/udev
}

default_lang() {
	depends="$depends_lang"
	pkgdesc="Languages for package $pkgname"
	install_if="$pkgname=$pkgver-r$pkgrel lang"
	_apkit_amove_found "${langdir:-/usr/share/locale}"
}

default_devhelp() {
	depends=""
	pkgdesc="$pkgname - devhelp files"
	install_if="$pkgname=$pkgver-r$pkgrel devhelp"
	_apkit_amove_found usr/share/devhelp
}

default_bashcomp() {
	local _base
	_base=$(_apkit_base -bash-completion)
	depends=""
	pkgdesc="Bash completions for $pkgname"
	install_if="$_base=$pkgver-r$pkgrel bash-completion"
	_apkit_amove_found usr/share/bash-completion/completions
}

default_zshcomp() {
	local _base
	_base=$(_apkit_base -zsh-completion)
	depends=""
	pkgdesc="Zsh completions for $pkgname"
	install_if="$_base=$pkgver-r$pkgrel zsh"
	_apkit_amove_found usr/share/zsh/site-functions
}

default_fishcomp() {
	local _base
	_base=$(_apkit_base -fish-completion)
	depends=""
	pkgdesc="Fish completions for $pkgname"
	install_if="$_base=$pkgver-r$pkgrel fish"
	_apkit_amove_found usr/share/fish/vendor_completions.d
	if [ -d "$pkgdir/usr/share/fish/completions" ]; then
		warning "usr/share/fish/completions is for fish's own completions; use vendor_completions.d"
		amove usr/share/fish/completions
	fi
}

default_pyc() {
	local _base _d
	_base=$(_apkit_base -pyc)
	depends=""
	pkgdesc="Precompiled Python bytecode for $_base"
	install_if="$_base=$pkgver-r$pkgrel pyc"
	cd "$pkgdir"
	if [ -d usr/lib ]; then
		find usr/lib -path 'usr/lib/python*' -type d -name __pycache__ -prune | while read -r _d; do
			amove "$_d"
		done
	fi
}

default_nftrules() {
	local _base
	_base=$(_apkit_base -nftrules)
	depends=""
	pkgdesc="$pkgdesc (nftables ruleset)"
	install_if="nftables-rulesets $_base=$pkgver-r$pkgrel"
	_apkit_amove_found 'usr/share/nftables.avail/*.nft'
}

doc() { default_doc; }
dev() { default_dev; }
static() { default_static; }
libs() { default_libs; }
dbg() { default_dbg; }
openrc() { default_openrc; }
systemd() { default_systemd; }
udev() { default_udev; }
lang() { default_lang; }
devhelp() { default_devhelp; }
bashcomp() { default_bashcomp; }
zshcomp() { default_zshcomp; }
fishcomp() { default_fishcomp; }
pyc() { default_pyc; }
nftrules() { default_nftrules; }

_apkit_dump_meta() {
	local _v
	[ -n "$APKIT_META" ] || return 0
	for _v in pkgname pkgver pkgrel pkgdesc url license arch maintainer \
		depends provides provider_priority replaces replaces_priority \
		install_if options builddir subpackages source install triggers \
		makedepends makedepends_build makedepends_host checkdepends \
		sha512sums sha256sums ldpath sonameprefix pcprefix somask \
		pkgusers pkggroups; do
		eval "printf '%s\\0%s\\0' \"\$_v\" \"\${$_v}\""
	done > "$APKIT_META"
}

cd "$startdir"
. "$APKBUILD"
builddir=${builddir:-$srcdir/$pkgname-$pkgver}
pkgdir=$pkgbasedir/$pkgname

# As abuild, after reading the recipe: with a -dbg subpackage (or DEBUG
# set) everything is built with debug information.
if [ -n "$DEBUG" ] || _apkit_subpackage_types_has dbg; then
	CFLAGS="$CFLAGS -g"
	CXXFLAGS="$CXXFLAGS -g"
	DFLAGS="$DFLAGS -g"
	export CARGO_PROFILE_RELEASE_DEBUG=true
	export CARGO_PROFILE_RELEASE_STRIP=none
fi

case $_apkit_phase in
unpack)
	unpack
	;;
prepare | build | check | package)
	export GIT_CEILING_DIRECTORIES="$startdir"
	[ ! -d "$builddir" ] || cd "$builddir"
	"$_apkit_phase"
	;;
split)
	subpkgname=$2
	_apkit_split=$3
	subpkgarch=$4
	subpkgdir=$pkgbasedir/$subpkgname
	command -v "$_apkit_split" >/dev/null 2>&1 || die "split function $_apkit_split is not defined"
	# Subpackages do not inherit these from the main package.
	provides=""
	install_if=""
	cd "$pkgdir"
	"$_apkit_split"
	[ -d "$subpkgdir" ] || die "split function $_apkit_split did not create $subpkgdir"
	;;
*)
	command -v "$_apkit_phase" >/dev/null 2>&1 || die "no function $_apkit_phase"
	"$_apkit_phase"
	;;
esac
_apkit_dump_meta
