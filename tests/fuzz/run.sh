#!/bin/sh
# run.sh - builds Magpie's libFuzzer targets with clang and runs each one for SECONDS.
#
# usage: tests/fuzz/run.sh [SECONDS]     (default 60; 0 only builds)
#   FUZZ_BUILDDIR  build folder (default tests/fuzz/build)
#   FUZZ_TARGETS   the targets to build and run (default: all of them)
#   FUZZ_JOBS      libFuzzer -jobs/-workers per target (default 1)
#   FUZZ_ARGS      more libFuzzer options, e.g. "-max_len=8192"
#   CC             the compiler (default clang)
# Exits 1 if a target does not build or any target crashes; the crashing
# input is left in $FUZZ_BUILDDIR/crashes/.
set -eu

SECS=${1:-60}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ=$TOP/tests/fuzz
B=${FUZZ_BUILDDIR:-$FUZZ/build}
CC=${CC:-clang}
JOBS=${FUZZ_JOBS:-1}
ALL="fuzz_stream fuzz_c2s fuzz_jid fuzz_sasl fuzz_config fuzz_roundtrip"
TARGETS=${FUZZ_TARGETS:-$ALL}
# Modules fuzz_c2s loads when they build (mod_<name>.c and/or <name>/*.c).
MODULES="disco ping version time register vcard private serverinfo offline
	last roster presence blocking mam carbons push"

case $SECS in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
command -v "$CC" >/dev/null 2>&1 || {
	echo "$0: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
}

PKGS="expat gnutls libevent lmdb libidn2 libconfig"
PKG_CFLAGS=$(pkg-config --cflags $PKGS 2>/dev/null || echo "-I/usr/include/p11-kit-1")
LIBS="-lexpat -lgnutls -levent -llmdb -lidn2 -lconfig -lunistring -lpthread -ldl"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer $SAN -D_GNU_SOURCE
	-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare
	-I$B -I$TOP/include -I$TOP/src $PKG_CFLAGS
	-DMP_MODULE_DIR=\"$B/modules\" -DMP_SYSCONFDIR=\"/etc\""

mkdir -p "$B/obj" "$B/modules" "$B/crashes" "$B/corpus"
cat > "$B/magpie-build.h.new" <<EOF
/* magpie-build.h - what configure would say, for the fuzz build. */
#define PACKAGE "magpie"
#define PACKAGE_NAME "magpie"
#define PACKAGE_VERSION "fuzz"
#define VERSION "fuzz"
EOF
cmp -s "$B/magpie-build.h.new" "$B/magpie-build.h" 2>/dev/null ||
	mv "$B/magpie-build.h.new" "$B/magpie-build.h"
rm -f "$B/magpie-build.h.new"

# Recompiles $2 into $1 when the source or any header is newer.
compile() {
	obj=$1
	src=$2
	shift 2
	if [ -f "$obj" ] && [ -z "$(find "$src" "$TOP/src" "$TOP/include" \
	    "$B/magpie-build.h" -name '*.[ch]' -newer "$obj" 2>/dev/null |
	    head -n 1)" ]; then
		return 0
	fi
	# shellcheck disable=SC2086
	$CC $CFLAGS "$@" -c "$src" -o "$obj"
}

echo "== building into $B"
CORE_OBJS=
for src in "$TOP"/src/*.c; do
	name=$(basename "$src" .c)
	case $name in main|magpiectl) continue ;; esac
	compile "$B/obj/$name.o" "$src" -fsanitize=fuzzer-no-link
	CORE_OBJS="$CORE_OBJS $B/obj/$name.o"
done

failed=
built=
for t in $TARGETS; do
	[ -f "$FUZZ/$t.c" ] || { echo "$0: no target $t" >&2; exit 2; }
	extra=
	[ "$t" = fuzz_c2s ] && extra="-Wl,--export-dynamic"
	if compile "$B/obj/$t.o" "$FUZZ/$t.c" -fsanitize=fuzzer-no-link &&
	    $CC $CFLAGS -fsanitize=fuzzer $extra "$B/obj/$t.o" $CORE_OBJS \
	    $LIBS -o "$B/$t"; then
		built="$built $t"
	else
		echo "== $t: build FAILED" >&2
		failed="$failed $t(build)"
	fi
done

# Modules for fuzz_c2s: best effort, a module that does not build is left out.
case " $TARGETS " in *" fuzz_c2s "*)
	for m in $MODULES; do
		srcs=
		[ -f "$TOP/modules/mod_$m.c" ] && srcs="$TOP/modules/mod_$m.c"
		[ -d "$TOP/modules/$m" ] && srcs="$srcs $(ls "$TOP"/modules/"$m"/*.c)"
		[ -n "$srcs" ] || continue
		so=$B/modules/mod_$m.so
		newer=
		# A changed public header may change the module ABI.
		for s in $srcs "$TOP"/include/magpie/*.h "$TOP"/modules/"$m"/*.h; do
			[ -f "$s" ] && [ "$s" -nt "$so" ] && newer=1
		done
		[ -f "$so" ] && [ -z "$newer" ] && continue
		# shellcheck disable=SC2086
		$CC $CFLAGS -fsanitize=fuzzer-no-link -fPIC -shared \
		    -I"$TOP/modules/$m" $srcs -o "$so" ||
		    { echo "== mod_$m left out: it does not build" >&2;
		      rm -f "$so"; }
	done
	;;
esac

[ "$SECS" -eq 0 ] && { [ -z "$failed" ] || exit 1; exit 0; }

cd "$B"
summary=
for t in $built; do
	work=$B/corpus/$t
	mkdir -p "$work"
	case $t in
	fuzz_stream|fuzz_roundtrip) opts="-dict=$FUZZ/xmpp.dict" ;;
	fuzz_c2s) opts="-dict=$FUZZ/xmpp.dict -max_len=8192" ;;
	*) opts= ;;
	esac
	seeds=
	[ -d "$FUZZ/corpus/$t" ] && seeds="$FUZZ/corpus/$t"
	echo "== $t: ${SECS}s"
	log=$B/$t.log
	# shellcheck disable=SC2086
	if "$B/$t" -max_total_time="$SECS" -timeout=25 -print_final_stats=1 \
	    -artifact_prefix="$B/crashes/$t-" -jobs="$JOBS" -workers="$JOBS" \
	    $opts ${FUZZ_ARGS:-} "$work" $seeds >"$log" 2>&1; then
		:
	else
		failed="$failed $t"
		echo "== $t: CRASHED; see $log and $B/crashes/" >&2
		grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz_)|runtime error" "$log" |
		    head -n 20 >&2 || true
	fi
	[ "$JOBS" -gt 1 ] && cat fuzz-*.log >>"$log" 2>/dev/null &&
	    rm -f fuzz-*.log
	stats=$(grep -E "#[0-9]+.*(DONE|pulse|NEW|REDUCE)" "$log" | tail -n 1 |
	    sed 's/^#/runs /')
	execs=$(grep -E "^stat::average_exec_per_sec" "$log" | tail -n 1 |
	    sed 's/.*: *//')
	summary="$summary
$t: $stats; ${execs:-?} exec/s"
done
echo "== summary$summary"
if [ -n "$failed" ]; then
	echo "== FAILED:$failed" >&2
	exit 1
fi
echo "== no crash"
