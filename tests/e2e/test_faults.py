"""Faults around the server: a kill -9 in the middle of a burst of offline
messages (nothing acknowledged may be lost, LMDB reopens cleanly), a full
store (errors to the senders, service goes on, space comes back), and a
client whose TCP connection half-closes. A client that stops reading while
it is sent to is covered by test_limits.py (max_send_queue)."""

import re
import socket
import ssl
import time

import pytest

from magpie import DOMAIN
from rawxmpp import NS_CLIENT, StreamClosed, error_condition, q, text_of
from test_rfc6121_presence import next_presence, subscribe_both

MODULES = ['disco', 'ping', 'roster', 'presence', 'offline']
MSG = q(NS_CLIENT, 'message')
IQ = q(NS_CLIENT, 'iq')
PING = "<ping xmlns='urn:xmpp:ping'/>"
ALICE = 'alice@' + DOMAIN


def sync(c, timeout=10.0):
    """A ping round trip; returns the elements that came before its
    answer (the server handles one stream in order)."""
    return c.sync(DOMAIN, timeout)


def drain_offline(raw, srv, user='alice', timeout=20.0):
    """Logs user in with initial presence (XEP-0160: offline messages come
    then) and returns the messages delivered before a ping round trip."""
    c = raw.logged_in(user, server=srv)
    c.presence()
    msgs = [e for e in sync(c, timeout) if e.tag == MSG]
    return c, msgs


def log_problems(srv):
    """Log lines that speak of a damaged store."""
    rx = re.compile(r'MDB_|corrupt|panic|mdb_env_open|store.*(error|fail)',
                    re.I)
    return [ln for ln in srv.log_text().splitlines() if rx.search(ln)]


def test_kill9_during_offline_burst(server_factory, raw):
    """XEP-0160 section 3 (the server takes responsibility for stored
    messages) and DESIGN section 6 (a write that must not be lost commits
    before it is acknowledged): bob sends 1500 messages to offline alice in
    batches of 50, each batch followed by a ping; the server is killed with
    SIGKILL halfway through. Every message sent before the last ping that
    was answered (and got no error) must be delivered to alice after the
    restart, once, in order; LMDB must open cleanly."""
    srv = server_factory({'offline': {'max_per_user': 100000}},
                         modules=MODULES)
    bob = raw.logged_in('bob', server=srv, resource='burst')
    bob.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    batches, per_batch, kill_after = 30, 50, 15
    sent_before = {}        # ping id -> message ids sent before it
    sent = []
    answered = set()
    refused = set()

    def read_available(wait=0.0):
        deadline = time.monotonic() + wait
        while True:
            try:
                bob._recv_once(max(deadline, time.monotonic() + 0.001))
            except (socket.timeout, OSError, ssl.SSLError):
                pass
            while bob.elements:
                e = bob.elements.pop(0)
                if e.tag == IQ and e.get('type') == 'result':
                    answered.add(e.get('id'))
                elif e.get('type') == 'error':
                    refused.add(e.get('id'))
            if bob.eof or time.monotonic() >= deadline:
                # _recv_once leaves a tiny timeout; sends need the usual.
                bob.sock.settimeout(bob.timeout)
                return

    for b in range(batches):
        chunk = []
        for i in range(per_batch):
            mid = 'k%04d' % (b * per_batch + i)
            sent.append(mid)
            chunk.append("<message to='%s' type='chat' id='%s'><body>%s"
                         "</body></message>" % (ALICE, mid, mid))
        pid = 'p%02d' % b
        chunk.append("<iq type='get' id='%s' to='%s'>%s</iq>" %
                     (pid, DOMAIN, PING))
        sent_before[pid] = list(sent)
        assert bob.try_send(''.join(chunk))
        read_available()
    # Kill while the server is in the middle of the burst.
    deadline = time.monotonic() + 30
    while len(answered) < kill_after and time.monotonic() < deadline:
        read_available(0.005)
    srv.proc.kill()
    srv.proc.wait(5)
    assert len(answered) < batches, 'the burst was over before the kill'
    read_available(3.0)
    srv._close_log()
    done = [p for p in sent_before if p in answered]
    assert done, 'no ping answered before the kill; the test proves nothing'
    acked = [m for m in sent_before[max(done)] if m not in refused]
    assert len(acked) >= per_batch

    srv.start()
    assert not log_problems(srv), log_problems(srv)
    _, msgs = drain_offline(raw, srv, timeout=30)
    got = [m.get('id') for m in msgs]
    missing = [m for m in acked if m not in got]
    assert not missing, '%d acknowledged messages lost, first %s' % (
        len(missing), missing[:5])
    assert len(got) == len(set(got)), 'duplicates delivered'
    assert got == sorted(got), 'order lost'
    assert set(got) <= set(sent)
    assert srv.running()


def fill_store(raw, srv, bob):
    """Sends twelve 200 kB offline messages to alice; returns the ids the
    server acknowledged (no error before the ping round trip) after
    checking the refusals' conditions."""
    big = 'x' * 200000
    ids = []
    for i in range(12):
        mid = 'f%02d' % i
        ids.append(mid)
        bob.send("<message to='%s' type='chat' id='%s'><body>%s:%s</body>"
                 "</message>" % (ALICE, mid, mid, big))
    errs = [e for e in sync(bob, 20) if e.get('type') == 'error']
    assert errs, 'a 1 MiB store took 12 messages of 200 kB'
    for e in errs:
        assert error_condition(e) in ('resource-constraint',
                                      'internal-server-error'), text_of(e)
    refused = {e.get('id') for e in errs}
    acked = [m for m in ids if m not in refused]
    assert acked, 'nothing stored at all'
    return acked


FULL = {'storage': {'map_size_mb': 1, 'max_map_size_mb': 1},
        'offline': {'max_per_user': 1000}}


def test_storage_full_keeps_serving(server_factory, raw):
    """RFC 6120 8.3.3.18 / 8.3.3.8 and DESIGN section 6: with a 1 MiB store
    that may not grow, offline messages of 200 kB soon get
    resource-constraint (or internal-server-error), never silence; the
    server keeps serving (ping, online chat); everything acknowledged is
    delivered, in order."""
    srv = server_factory(FULL, modules=MODULES)
    bob = raw.logged_in('bob', server=srv, resource='full')
    carol = raw.logged_in('carol', server=srv, resource='online')
    acked = fill_store(raw, srv, bob)
    assert sync(carol) == []
    bob.send("<message to='carol@%s/online' type='chat' id='live1'>"
             "<body>still here</body></message>" % DOMAIN)
    m = carol.wait_for(lambda e: e.tag == MSG, 5)
    assert m.get('id') == 'live1'
    _, msgs = drain_offline(raw, srv)
    assert [m.get('id') for m in msgs] == acked
    assert not log_problems(srv), log_problems(srv)


def test_storage_full_space_comes_back(server_factory, raw):
    """DESIGN section 6 and XEP-0160: once alice has drained her offline
    messages (about 800 kB freed in the 1 MiB store), the very next 200 kB
    offline message is stored and delivered."""
    srv = server_factory(FULL, modules=MODULES)
    bob = raw.logged_in('bob', server=srv, resource='full')
    acked = fill_store(raw, srv, bob)
    alice, msgs = drain_offline(raw, srv)
    assert [m.get('id') for m in msgs] == acked
    alice.send('</stream:stream>')
    alice.wait_closed(5)
    time.sleep(0.3)
    bob.send("<message to='%s' type='chat' id='again'><body>%s</body>"
             "</message>" % (ALICE, 'y' * 200000))
    errs = [e for e in sync(bob) if e.get('type') == 'error']
    assert errs == [], [text_of(e) for e in errs]
    _, msgs = drain_offline(raw, srv)
    assert [m.get('id') for m in msgs] == ['again']


def half_close(c):
    """shutdown(SHUT_WR) on the TCP socket under TLS: no close_notify, no
    </stream:stream>, but the read side stays open. (SSLSocket.shutdown
    would drop the TLS state, so the plain socket's method is used.)"""
    socket.socket.shutdown(c.sock, socket.SHUT_WR)


@pytest.mark.parametrize('closing_tag', [False, True],
                         ids=['bare-fin', 'stream-end-then-fin'])
def test_half_close_finishes_then_ends_session(server_factory, raw,
                                                closing_tag):
    """RFC 6120 4.4 (closing a stream; a TCP close without the closing tag
    ends it too) and RFC 6121 4.5.2 / 4.6: bob sends 200 pings and then
    half-closes his TCP connection (optionally after </stream:stream>).
    The server answers every ping it read before closing, then closes the
    connection, and bob's contact alice gets his unavailable presence."""
    srv = server_factory(modules=MODULES)
    subscribe_both(raw, srv)
    from test_rfc6121_roster import login
    a = login(raw, 'alice', 'watch', server=srv, presence=True)
    b = login(raw, 'bob', 'halfclose', server=srv, presence=True)
    next_presence(a, 'bob@%s/halfclose' % DOMAIN)
    b.elements.clear()
    pings = ''.join("<iq type='get' id='h%03d' to='%s'>%s</iq>" %
                    (i, DOMAIN, PING) for i in range(200))
    b.send(pings + ('</stream:stream>' if closing_tag else ''))
    half_close(b)
    got = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            e = b.next_element(max(0.05, deadline - time.monotonic()))
        except StreamClosed:
            break
        if e.tag == IQ and e.get('type') == 'result':
            got.add(e.get('id'))
    b.wait_closed(5)
    assert len(got) == 200, 'only %d of 200 answers before the close' % \
        len(got)
    if closing_tag:
        assert b.stream_ended, 'no </stream:stream> after ours (RFC 6120 4.4)'
    next_presence(a, 'bob@%s/halfclose' % DOMAIN, 'unavailable')
    assert srv.running()
    c = raw.logged_in('bob', server=srv, resource='again')
    assert sync(c) == []
