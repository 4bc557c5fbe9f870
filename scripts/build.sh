#!/bin/sh
# build.sh - configures (once) and builds Magpie in a build folder; extra arguments go to configure.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${MAGPIE_BUILDDIR:-$top/build}
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ] || [ "$*" != "$(cat .configure-args 2>/dev/null)" ]; then
	"$top/configure" -q "$@"
	printf '%s' "$*" > .configure-args
fi
make -s -j"$(nproc)"
