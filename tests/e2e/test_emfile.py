"""Out of file descriptors: accept() pauses instead of spinning, the
sessions already there keep working, and new clients get in once
descriptors are free again (hardening; RFC 6120 13.12 on denial of
service)."""

import socket
import time

import pytest

from magpie import HOST, VALGRIND


def ping(c):
    r = c.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost')
    return r.get('type') == 'result'


@pytest.mark.skipif(VALGRIND, reason='valgrind keeps descriptors of its own '
                    'under the limit this test sets')
def test_emfile_pauses_accept(server_factory, raw):
    """With 48 descriptors, a flood of connections exhausts them; the
    server logs the pause, serves its logged-in client, and accepts again
    after the flood is gone."""
    srv = server_factory(start=False)
    srv.wrapper = ['prlimit', '--nofile=48:48']
    srv.start()
    a = raw.logged_in('alice', server=srv)
    socks = []
    try:
        for _ in range(80):
            s = socket.create_connection((HOST, srv.c2s_port), timeout=2)
            socks.append(s)
        deadline = time.monotonic() + 5
        while 'accept paused' not in srv.log_text():
            assert time.monotonic() < deadline, srv.log_tail()
            time.sleep(0.1)
        # The process is not spinning: its CPU time barely moves.
        stat = open('/proc/%d/stat' % srv.proc.pid).read().split()
        cpu0 = int(stat[13]) + int(stat[14])
        time.sleep(1.0)
        stat = open('/proc/%d/stat' % srv.proc.pid).read().split()
        assert int(stat[13]) + int(stat[14]) - cpu0 < 50, 'accept loop spins'
        assert ping(a)
    finally:
        for s in socks:
            s.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            b = raw.logged_in('bob', server=srv)
            break
        except (AssertionError, OSError):
            assert time.monotonic() < deadline, srv.log_tail()
            time.sleep(0.5)
    assert ping(b) and ping(a)
