#!/bin/sh
# test.sh - installs what the tests need, builds, and runs the whole suite: unit, then end-to-end.
# Arguments go to configure (e.g. --enable-werror --enable-sanitizers).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
export MAGPIE_BUILDDIR=${MAGPIE_BUILDDIR:-$top/build}
"$top/scripts/deps.sh" --test
"$top/scripts/build.sh" "$@"
cd "$MAGPIE_BUILDDIR"
make -s -j"$(nproc)" tests/unit/unit
echo "== unit tests"
./tests/unit/unit
echo "== end-to-end tests"
MAGPIE_E2E_REQUIRE=1 PYTHONDONTWRITEBYTECODE=1 \
	/usr/bin/python3 -m pytest -q -p no:cacheprovider "$top/tests/e2e"
