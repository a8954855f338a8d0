# apkit's chown, chgrp and install for package() and the split functions.
#
# abuild runs these functions under fakeroot, where chown to any user
# succeeds and the tar of the package records it. A sandbox of apkit maps
# no user id but its own, so a real chown to another user fails; instead,
# these commands record the owner asked for in $APKIT_OWNERS, one line
# "DEVICE INODE<TAB>USER<TAB>GROUP" a file changed, and apkit writes it into
# the package. Users and groups must exist in $APKIT_PASSWD and $APKIT_GROUP
# (the build root's, plus pkgusers and pkggroups), as a real chown needs.
# install runs the real install without -o and -g, then records them.
set -e
_self=${0##*/}

_fail() {
	printf '%s: %s\n' "$_self" "$*" >&2
	exit 1
}

# _real CMD: CMD from PATH, skipping this directory.
_real() {
	local _d _ifs=$IFS
	IFS=:
	for _d in $PATH; do
		[ "$_d" = "$APKIT_OWNER_BIN" ] && continue
		if [ -x "$_d/$1" ] && [ ! -d "$_d/$1" ]; then
			IFS=$_ifs
			printf '%s\n' "$_d/$1"
			return 0
		fi
	done
	IFS=$_ifs
	_fail "$1 not found"
}

# _field FILE NAME N: field N of the entry NAME of a passwd or group file.
_field() {
	awk -F: -v n="$2" -v f="$3" '$1 == n { print $f; found = 1; exit } END { exit !found }' "$1"
}

_check_user() {
	case $1 in
	'' | *[!0-9]*) ;;
	*) return 0 ;;
	esac
	_field "$APKIT_PASSWD" "$1" 1 >/dev/null || _fail "unknown user $1"
}

_check_group() {
	case $1 in
	'' | *[!0-9]*) ;;
	*) return 0 ;;
	esac
	_field "$APKIT_GROUP" "$1" 1 >/dev/null || _fail "unknown group $1"
}

# _record FLAGS USER GROUP PATH: record the owner of PATH (of everything
# under it with R; of a symlink itself with h or R, else of its target) by
# device and inode, now, so that the record follows the file wherever it
# is moved and leaves out what is created later.
_record() {
	local _p=$4
	[ -e "$_p" ] || [ -L "$_p" ] || _fail "cannot access '$_p': No such file or directory"
	case $1 in
	*[Rh]*) ;;
	*) [ -e "$_p" ] || _fail "cannot dereference '$_p': No such file or directory" ;;
	esac
	case $1 in
	*R*)
		if [ -d "$_p" ] && [ ! -L "$_p" ]; then
			find "$_p" -exec stat -c '%d %i' {} +
		else
			stat -c '%d %i' "$_p"
		fi
		;;
	*h*) stat -c '%d %i' "$_p" ;;
	*) stat -L -c '%d %i' "$_p" ;;
	esac | while read -r _dev _ino; do
		printf '%s %s\t%s\t%s\n' "$_dev" "$_ino" "$2" "$3"
	done >>"$APKIT_OWNERS"
}

# chown and chgrp [-RhfvcHLP] SPEC FILE...
_chown() {
	local _flags="" _spec _user="" _group="" _opt _c
	while [ $# -gt 0 ]; do
		case $1 in
		--) shift; break ;;
		--recursive) _flags="${_flags}R" ;;
		--no-dereference) _flags="${_flags}h" ;;
		--dereference | --verbose | --changes | --silent | --quiet | --preserve-root | --no-preserve-root) ;;
		--*) _fail "unsupported option $1" ;;
		-?*)
			_opt=${1#-}
			while [ -n "$_opt" ]; do
				_c=${_opt%"${_opt#?}"}
				_opt=${_opt#?}
				case $_c in
				R) _flags="${_flags}R" ;;
				h) _flags="${_flags}h" ;;
				f | v | c | H | L | P) ;;
				*) _fail "unsupported option -$_c" ;;
				esac
			done
			;;
		*) break ;;
		esac
		shift
	done
	[ $# -ge 2 ] || _fail "missing operand"
	_spec=$1
	shift
	if [ "$_self" = chgrp ]; then
		_group=$_spec
	else
		case $_spec in
		*:*)
			_user=${_spec%%:*}
			_group=${_spec#*:}
			# "user:" is the user and the user's login group.
			if [ -z "$_group" ] && [ -n "$_user" ]; then
				_check_user "$_user"
				_group=$(_field "$APKIT_PASSWD" "$_user" 4)
			fi
			;;
		*) _user=$_spec ;;
		esac
	fi
	[ -z "$_user" ] || _check_user "$_user"
	[ -z "$_group" ] || _check_group "$_group"
	for _f; do
		_record "${_flags:--}" "$_user" "$_group" "$_f"
	done
}

# _install_owner ARG...: install's -o/-g values, "user:group", or nothing.
_install_owner() {
	local _o="" _g="" _opt _c
	while [ $# -gt 0 ]; do
		case $1 in
		--) break ;;
		--owner=*) _o=${1#*=} ;;
		--group=*) _g=${1#*=} ;;
		--owner | --group) _fail "use $1=VALUE" ;;
		--*) ;;
		-?*)
			_opt=${1#-}
			while [ -n "$_opt" ]; do
				_c=${_opt%"${_opt#?}"}
				_opt=${_opt#?}
				case $_c in
				o | g | m | t | S)
					if [ -z "$_opt" ]; then
						shift
						_opt=${1-}
					fi
					case $_c in
					o) _o=$_opt ;;
					g) _g=$_opt ;;
					esac
					_opt=""
					;;
				esac
			done
			;;
		esac
		shift
	done
	[ -n "$_o$_g" ] && printf '%s:%s\n' "$_o" "$_g"
	return 0
}

_install() {
	local _owner _real _n _a _opt _c _keep _dirs="" _tdir="" _nt="" _ops="" _count=0 _last="" _f
	_real=$(_real install)
	_owner=$(_install_owner "$@")
	[ -n "$_owner" ] || exec "$_real" "$@"
	# Run install without -o and -g, keeping the other arguments.
	_n=$#
	while [ $_n -gt 0 ]; do
		_a=$1
		shift
		_n=$((_n - 1))
		case $_a in
		--owner=* | --group=*) continue ;;
		--target-directory=*) _tdir=${_a#*=} ;;
		--directory) _dirs=1 ;;
		--no-target-directory) _nt=1 ;;
		--) ;;
		--*) ;;
		-?*)
			_opt=${_a#-}
			_keep=""
			while [ -n "$_opt" ]; do
				_c=${_opt%"${_opt#?}"}
				_opt=${_opt#?}
				case $_c in
				o | g | m | t | S)
					if [ -z "$_opt" ]; then
						_opt=$1
						shift
						_n=$((_n - 1))
					fi
					case $_c in
					m | S) set -- "$@" "-$_c" "$_opt" ;;
					t)
						_tdir=$_opt
						set -- "$@" -t "$_opt"
						;;
					esac
					_opt=""
					;;
				d)
					_dirs=1
					_keep="$_keep$_c"
					;;
				T)
					_nt=1
					_keep="$_keep$_c"
					;;
				*) _keep="$_keep$_c" ;;
				esac
			done
			[ -z "$_keep" ] || set -- "$@" "-$_keep"
			continue
			;;
		*)
			case $_a in
			*'
'*) _fail "$_a: a name with a line break" ;;
			esac
			_ops="$_ops$_a
"
			_count=$((_count + 1))
			_last=$_a
			;;
		esac
		set -- "$@" "$_a"
	done
	[ -z "${_owner%%:*}" ] || _check_user "${_owner%%:*}"
	[ -z "${_owner#*:}" ] || _check_group "${_owner#*:}"
	"$_real" "$@"
	printf '%s' "$_ops" | while IFS= read -r _f; do
		if [ -n "$_dirs" ]; then
			_record - "${_owner%%:*}" "${_owner#*:}" "$_f"
		elif [ -n "$_tdir" ]; then
			_record - "${_owner%%:*}" "${_owner#*:}" "$_tdir/${_f##*/}"
		elif [ "$_f" = "$_last" ]; then
			:
		elif [ $_count -gt 2 ] || { [ -z "$_nt" ] && [ -d "$_last" ]; }; then
			_record - "${_owner%%:*}" "${_owner#*:}" "$_last/${_f##*/}"
		else
			_record - "${_owner%%:*}" "${_owner#*:}" "$_last"
		fi
	done
}

case $_self in
chown | chgrp) _chown "$@" ;;
install) _install "$@" ;;
*) _fail "unknown command" ;;
esac
