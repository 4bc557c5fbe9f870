#!/bin/sh
# quickstart.sh - installs what is missing, builds, writes a local config for "localhost",
# adds two example users and starts magpied in the foreground.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
export MAGPIE_BUILDDIR=${MAGPIE_BUILDDIR:-$top/build}
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
run=$top/local
conf=$run/magpie.conf
mkdir -p "$run"
if [ ! -f "$conf" ]; then
	cat > "$conf" <<CONF
# Written by scripts/quickstart.sh; see examples/magpie.conf for every option.
listen = ( { type = "c2s"; port = 5222; },
           { type = "c2s-direct-tls"; port = 5223; } );
hosts = ( { domain = "localhost"; } );
modules = [ "disco", "ping", "version", "time", "roster", "presence",
	"offline", "vcard", "private", "blocking", "last", "register",
	"serverinfo", "mam", "carbons", "push" ];
module_path = "$MAGPIE_BUILDDIR/modules/.libs";
tls = { certs = "certs"; self_signed = true; };
storage = { path = "data"; };
log = { level = "info"; };
CONF
fi
ctl="$MAGPIE_BUILDDIR/magpiectl -c $conf"
for u in alice bob; do
	if ! $ctl user list localhost 2>/dev/null | grep -qx "$u@localhost"; then
		$ctl user add "$u@localhost" "$u-secret"
	fi
done
echo "Example users: alice@localhost (password alice-secret),"
echo "               bob@localhost (password bob-secret)"
echo "Connect to localhost:5222 (STARTTLS) or :5223 (direct TLS)."
echo "The certificate is self-signed: accept it in your client."
exec "$MAGPIE_BUILDDIR/magpied" -c "$conf" -f
