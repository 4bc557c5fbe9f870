#!/bin/sh
# smoke.sh - a seconds-long run of magpie-bench against magpied, to keep the generator working in CI.
#
# usage: tests/bench/smoke.sh BUILDDIR
# BUILDDIR holds magpied, magpiectl, modules/.libs and tests/bench/magpie-bench
# (or set MAGPIE_BENCH to the generator). Exits non-zero on any login error,
# lost session, undelivered message or failed archive query.
set -eu

BUILDDIR=$(cd "${1:?usage: smoke.sh BUILDDIR}" && pwd)
BENCH=${MAGPIE_BENCH:-$BUILDDIR/tests/bench/magpie-bench}
[ -x "$BENCH" ] || BENCH=$BUILDDIR/magpie-bench
for f in "$BUILDDIR/magpied" "$BUILDDIR/magpiectl" "$BENCH"; do
	[ -x "$f" ] || { echo "smoke.sh: $f is missing" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/magpie-smoke.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
TLSPORT=$(free_port)
while [ "$TLSPORT" = "$PORT" ]; do TLSPORT=$(free_port); done

mkdir "$TMP/certs" "$TMP/data"
# The archive commits each message to disk: only the mam run, whose users
# set their preference to always, pays for it.
cat > "$TMP/magpie.conf" <<EOF
listen = ( { type = "c2s"; address = "127.0.0.1"; port = $PORT; },
	{ type = "c2s-direct-tls"; address = "127.0.0.1"; port = $TLSPORT; } );
hosts = ( { domain = "localhost"; } );
modules = [ "disco", "ping", "roster", "presence", "mam" ];
module_path = "$BUILDDIR/modules/.libs";
tls = { certs = "$TMP/certs"; required = true; self_signed = true; };
storage = { path = "$TMP/data"; };
auth = { iterations = 4096; };
limits = { max_connections_per_ip = 0; max_new_connections_per_ip = 0;
	read_rate = 0; max_auth_failures_per_ip = 0; };
log = { level = "warn"; };
mam = { max_page = 100; default_policy = "never"; };
EOF

i=1
while [ $i -le 20 ]; do
	"$BUILDDIR/magpiectl" -c "$TMP/magpie.conf" user add \
	    "user$i@localhost" smoke-pw >/dev/null
	i=$((i + 1))
done

"$BUILDDIR/magpied" -c "$TMP/magpie.conf" -f >"$TMP/magpied.log" 2>&1 &
PID=$!
n=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; do
	n=$((n + 1))
	if [ $n -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
		echo "smoke.sh: magpied did not start" >&2
		cat "$TMP/magpied.log" >&2
		exit 1
	fi
	sleep 0.1
done

run() {
	echo "== magpie-bench $*"
	if ! "$BENCH" --port "$PORT" --password smoke-pw --pid "$PID" \
	    --timeout 10 "$@" >"$TMP/out" 2>&1; then
		cat "$TMP/out"
		echo "smoke.sh: FAILED: magpie-bench $*" >&2
		tail -20 "$TMP/magpied.log" >&2
		exit 1
	fi
	grep '^summary:' "$TMP/out"
}

run --users 20 --duration 2 idle
run --users 20 --duration 3 --rate 200 --size 100 chat
run --users 20 --duration 2 --rate 20 --tls direct --port "$TLSPORT" \
    --mech scram-sha-256 login
run --users 20 --duration 2 --rate 20 login
run --duration 1 --rate 50 --tls direct --port "$TLSPORT" handshake
run --users 20 --fill 20 --page 10 --duration 2 --rate 50 --settle 0.5 mam
kill -0 "$PID" || { echo "smoke.sh: magpied died" >&2; exit 1; }
echo "smoke.sh: OK"
