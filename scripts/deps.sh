#!/bin/sh
# deps.sh - installs the Debian packages Magpie needs to build, run and test (only the missing ones).
set -e
PKGS="build-essential autoconf automake libtool pkg-config libexpat1-dev
libgnutls28-dev libevent-dev liblmdb-dev libidn2-dev libunistring-dev
libconfig-dev"
case "${1:-}" in
--test)
	PKGS="$PKGS python3 python3-slixmpp python3-pytest python3-cryptography valgrind"
	;;
--fuzz)
	PKGS="$PKGS clang libclang-rt-14-dev"
	;;
esac
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
