"""The server's resource limits (config section 'limits', RFC 6120 13.12:
an entity should guard against denial of service): connections and new
connections per address, a client that never reads, a client that sends too
fast, sessions per account, failed logins per address, the pre-auth timeout
during the TLS handshake and during SASL, and a thousand connections from one
address while others chat. Each test starts its own server with small
limits; the suite's default config turns them all off."""

import selectors
import socket
import ssl
import threading
import time

import pytest

import magpie
from magpie import DOMAIN, HOST, USERS
from rawxmpp import (NS_BIND, NS_CLIENT, NS_SASL, NS_STREAM, NS_STREAMS,
                     error_condition, header, q, text_of)
from test_rfc6120_tls import legacy_client_hello

IQ = q(NS_CLIENT, 'iq')
MSG = q(NS_CLIENT, 'message')
PING = "<ping xmlns='urn:xmpp:ping'/>"
OFF = {'max_connections_per_ip': 0, 'max_new_connections_per_ip': 0,
       'read_rate': 0, 'max_send_queue': 0, 'max_sessions_per_user': 0,
       'max_auth_failures_per_ip': 0}


def limited(server_factory, modules=None, c2s=None, **limits):
    """A server with every limit off but the given ones."""
    over = {'limits': dict(OFF, **limits)}
    if c2s:
        over['c2s'] = c2s
    return server_factory(over, modules=modules)


def rss_kib(srv):
    with open('/proc/%d/status' % srv.proc.pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError('no VmRSS for magpied')


def sanitized(srv):
    """Whether magpied runs with AddressSanitizer, whose quarantine keeps
    freed memory resident, or under valgrind, whose own bookkeeping grows
    with the heap: RSS bounds are checked on plain runs only."""
    if magpie.VALGRIND:
        return True
    with open('/proc/%d/maps' % srv.proc.pid) as f:
        return 'libasan' in f.read()


def ping(c, timeout=5.0):
    id_ = 'p%d' % time.monotonic_ns()
    c.send("<iq type='get' id='%s' to='%s'>%s</iq>" % (id_, DOMAIN, PING))
    res = c.wait_for(lambda e: e.tag == IQ and e.get('id') == id_, timeout,
                     'ping answer')
    assert res.get('type') == 'result', text_of(res)


def drain(c):
    """Reads whatever is there without waiting; drops parsed elements."""
    try:
        while not c.eof:
            c._recv_once(time.monotonic() + 0.001)
    except (socket.timeout, OSError, ssl.SSLError):
        pass
    # _recv_once left a 1 ms timeout on the socket; sends need the usual.
    c.sock.settimeout(c.timeout)
    c.elements.clear()


def refused_on_starttls_port(raw, srv):
    """A new connection on the STARTTLS port gets the server's header and
    <policy-violation/>, then a close."""
    c = raw(server=srv)
    err = c.expect_stream_error('policy-violation')
    assert c.stream_attrs is not None
    return err


def refused_on_direct_tls_port(srv, timeout=5.0):
    """A new connection on the direct-TLS port is closed at once: the TLS
    handshake fails."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = socket.create_connection((HOST, srv.tls_port), timeout=timeout)
    try:
        with pytest.raises((ssl.SSLError, OSError)):
            ctx.wrap_socket(sock, server_hostname=DOMAIN)
    finally:
        sock.close()


def accepted(raw, srv):
    c = raw(server=srv)
    c.open_stream()
    return c


# ---- connections per address ---------------------------------------------

def test_connections_per_ip(server_factory, raw):
    """limits.max_connections_per_ip = 5 (RFC 6120 13.12): five streams from
    127.0.0.1 are served; the sixth gets <policy-violation/> on the
    STARTTLS port and is closed on the direct-TLS port; closing one makes
    room again; refused connections hold no slot."""
    srv = limited(server_factory, max_connections_per_ip=5)
    conns = [accepted(raw, srv) for _ in range(5)]
    err = refused_on_starttls_port(raw, srv)
    assert 'connection' in (err.findtext(q(NS_STREAMS, 'text')) or '')
    refused_on_direct_tls_port(srv)
    conns[0].end_stream()
    conns[0].wait_closed(5)
    time.sleep(0.2)
    conns[0] = raw(server=srv)
    conns[0].login('alice', USERS['alice'])
    refused_on_starttls_port(raw, srv)
    for c in conns:
        c.end_stream()
        c.wait_closed(5)
    time.sleep(0.2)
    # None of the refused connections kept a slot.
    again = [accepted(raw, srv) for _ in range(4)]
    d = raw(server=srv, direct_tls=True)
    d.login('bob', USERS['bob'])
    for c in again + [d]:
        assert c.is_open(0.05)


def test_new_connections_per_minute(server_factory, raw):
    """limits.max_new_connections_per_ip = 10 per minute: connections that
    come and go are counted too (the server's start-up probe made two);
    past the budget a new one is refused (policy-violation on the STARTTLS
    port, a close on the direct-TLS port), while one already open goes on
    working."""
    srv = limited(server_factory, max_new_connections_per_ip=10)
    keep = raw(server=srv)
    keep.login('alice', USERS['alice'])
    ok = 1
    while ok < 12:
        c = raw(server=srv)
        c.send(header())
        c.wait_header()
        elem = c.next_element()
        c.close()
        if elem.tag == q(NS_STREAM, 'error'):
            assert error_condition(elem, NS_STREAMS) == 'policy-violation', \
                text_of(elem)
            break
        assert elem.tag == q(NS_STREAM, 'features'), text_of(elem)
        ok += 1
    assert 8 <= ok <= 10, '%d new connections accepted in a minute' % ok
    refused_on_direct_tls_port(srv)
    ping(keep)


# ---- a client that never reads (send queue) -------------------------------

def wait_log(srv, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in srv.log_text():
            return True
        time.sleep(0.05)
    return False


def test_never_reading_client_is_dropped(server_factory, raw):
    """limits.max_send_queue = 64 KiB (RFC 6120 13.12): bob never reads
    while alice sends him 50 kB headlines (headlines, so that none bounces
    back to alice once bob is gone, RFC 6121 8.5.3.2.1). The server drops
    bob instead of buffering for him: his session ends within 2 s although
    he still reads nothing (a message to him then bounces), its RSS stays
    bounded (growth well under the volume sent), and alice and carol keep
    chatting. This also covers the fault case of a client that stops
    reading (test_faults.py)."""
    srv = limited(server_factory, max_send_queue=65536)
    bob = raw(server=srv)
    bob.login('bob', USERS['bob'], resource='deaf')
    alice = raw(server=srv)
    alice.login('alice', USERS['alice'], resource='loud')
    carol = raw(server=srv)
    carol.login('carol', USERS['carol'], resource='chat')
    before = rss_kib(srv)
    body = 'z' * 50000
    sent = 0
    while sent < 800 and 'send queue over' not in srv.log_text():
        for _ in range(10):
            alice.send("<message to='bob@%s/deaf' type='headline' id='f%d'>"
                       "<body>%s</body></message>" % (DOMAIN, sent, body))
            sent += 1
        drain(alice)
    after = rss_kib(srv)
    assert wait_log(srv, 'send queue over', 2), \
        'bob was never dropped after %d MB' % (sent * len(body) >> 20)
    assert sanitized(srv) or after - before < 16 * 1024, \
        'RSS grew by %d KiB (%d messages of 50 kB sent)' % (after - before,
                                                             sent)
    # Dropped means gone, even though bob still reads nothing.
    gone = wait_log(srv, 'bob@localhost/deaf disconnected', 2)
    carol.send("<message to='bob@%s/deaf' type='chat' id='toBob'><body>?"
               "</body></message>" % DOMAIN)
    bounce = carol.wait_for(lambda e: e.tag == MSG, 2) \
        if gone else None
    assert gone, 'bob\'s session outlived the send-queue limit while he ' \
        'did not read: the drop waits for a write that never comes'
    assert bounce.get('type') == 'error', text_of(bounce)
    assert 'alice@localhost/loud disconnected' not in srv.log_text()
    drain(alice)
    t0 = time.monotonic()
    alice.send("<message to='carol@%s/chat' type='chat' id='live'><body>hi"
               "</body></message>" % DOMAIN)
    carol.wait_for(lambda e: e.tag == MSG and e.get('id') == 'live', 2)
    assert time.monotonic() - t0 < 1.0
    ping(alice)
    ping(carol)
    bob.wait_closed(10)


# ---- a client that sends too fast (read rate) -----------------------------

def test_read_rate_throttles_burst(server_factory, raw):
    """limits.read_rate = 512 KiB/s with a 16 KiB burst (RFC 6120 13.12):
    alice sends 1.6 MB of messages at once. The server reads them at the
    configured rate (it takes about 3 s, not milliseconds), does not
    buffer the burst (RSS grows by much less than 1.6 MB), every message
    still arrives, and carol's pings meanwhile are answered at once."""
    rate = 512 * 1024
    srv = limited(server_factory, read_rate=rate, read_burst=16384)
    bob = raw(server=srv)
    bob.login('bob', USERS['bob'], resource='sink')
    carol = raw(server=srv)
    carol.login('carol', USERS['carol'])
    alice = raw(server=srv)
    alice.login('alice', USERS['alice'])
    before = rss_kib(srv)
    n, body = 8, 'r' * 200000
    payload = ''.join("<message to='bob@%s/sink' type='chat' id='r%d'><body>"
                      "%s</body></message>" % (DOMAIN, i, body)
                      for i in range(n)).encode()
    done = threading.Event()
    errors = []

    def sender():
        # Its own thread: sendall blocks while the server is not reading.
        try:
            alice.sock.settimeout(30)
            alice.sock.sendall(payload)
        except OSError as e:
            errors.append(e)
        done.set()
    t0 = time.monotonic()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got, worst, peak = [], 0.0, before
    deadline = t0 + 20
    while len(got) < n and time.monotonic() < deadline:
        p0 = time.monotonic()
        ping(carol, 2)
        worst = max(worst, time.monotonic() - p0)
        peak = max(peak, rss_kib(srv))
        try:
            found = bob.read_until(rb"(<message[^>]*id=.r%d.)" % len(got),
                                   0.2)
            if found:
                got.append(len(got))
        except AssertionError:
            pass
    elapsed = time.monotonic() - t0
    th.join(5)
    assert not errors, errors
    assert len(got) == n, 'only %d of %d messages arrived' % (len(got), n)
    expected = (len(payload) - 16384) / rate
    assert elapsed > expected * 0.7, \
        'not throttled: %.2fs for %d bytes' % (elapsed, len(payload))
    assert sanitized(srv) or peak - before < len(payload) // 1024 // 2, \
        'RSS grew by %d KiB during a %d KiB burst' % (peak - before,
                                                      len(payload) // 1024)
    assert worst < 0.5, 'carol waited %.2fs for a ping' % worst


# ---- sessions per account ---------------------------------------------------

def bind_request(c, resource):
    return c.iq("<bind xmlns='%s'><resource>%s</resource></bind>" %
                (NS_BIND, resource), 'set')


def test_sessions_per_user(server_factory, raw):
    """limits.max_sessions_per_user = 3 with RFC 6120 7.6.2.1: a fourth
    resource gets <resource-constraint/> (type wait) and the stream stays
    usable; rebinding an existing resource replaces it (7.7.2.2, not a new
    session); once a session ends a new bind works."""
    srv = limited(server_factory, max_sessions_per_user=3)
    sessions = []
    for i in range(3):
        c = raw(server=srv)
        c.login('alice', USERS['alice'], resource='r%d' % i)
        sessions.append(c)
    extra = raw(server=srv)
    extra.login('alice', USERS['alice'], bind=False)
    res = bind_request(extra, 'r3')
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'resource-constraint', text_of(res)
    assert res.find(q(NS_CLIENT, 'error')).get('type') == 'wait'
    # Other accounts are not affected.
    other = raw(server=srv)
    other.login('bob', USERS['bob'])
    # Replacing r0 is allowed at the limit.
    repl = raw(server=srv)
    repl.login('alice', USERS['alice'], resource='r0')
    sessions[0].expect_stream_error('conflict')
    sessions[1].end_stream()
    sessions[1].wait_closed(5)
    time.sleep(0.2)
    res = bind_request(extra, 'r3')
    assert res.get('type') == 'result', text_of(res)


# ---- failed logins per address ----------------------------------------------

def test_auth_failures_per_ip(server_factory, raw):
    """limits.max_auth_failures_per_ip = 3 (RFC 6120 6.5.11 and 13.12):
    three failed credential checks over two streams; after that even the
    right password gets <failure><temporary-auth-failure/></failure> and
    the stream ends with <policy-violation/>; a stream that already
    authenticated is not affected."""
    srv = limited(server_factory, max_auth_failures_per_ip=3)
    good = raw(server=srv)
    good.login('carol', USERS['carol'])
    c1 = raw(server=srv)
    c1.open_stream()
    c1.starttls()
    for i in range(2):
        res = c1.auth_plain('alice', 'wrong%d' % i)
        assert res.tag == q(NS_SASL, 'failure'), text_of(res)
    c2 = raw(server=srv)
    c2.open_stream()
    c2.starttls()
    res = c2.auth_scram('SCRAM-SHA-256', 'alice', 'wrong', verify=False)
    assert res.tag == q(NS_SASL, 'failure'), text_of(res)
    c3 = raw(server=srv)
    c3.open_stream()
    c3.starttls()
    res = c3.auth_scram('SCRAM-SHA-256', 'alice', USERS['alice'],
                        verify=False)
    assert res.tag == q(NS_SASL, 'failure'), text_of(res)
    assert res.find(q(NS_SASL, 'temporary-auth-failure')) is not None, \
        text_of(res)
    c3.expect_stream_error('policy-violation')
    ping(good)


# ---- pre-auth timeouts ------------------------------------------------------

def half_client_hello():
    hello = legacy_client_hello(0x0303)
    return hello[:len(hello) // 2]


def test_preauth_timeout_in_tls_handshake_direct(server_factory):
    """c2s.preauth_timeout = 2 s (RFC 6120 13.12, slowloris): half a
    ClientHello on the direct-TLS port, then silence: the server closes the
    connection (there is no stream yet to carry an error) within a few
    seconds."""
    srv = limited(server_factory, c2s={'preauth_timeout': 2})
    sock = socket.create_connection((HOST, srv.tls_port), timeout=8)
    try:
        sock.sendall(half_client_hello())
        t0 = time.monotonic()
        data = b''
        while True:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b''
            except socket.timeout:
                raise AssertionError('still open after 8 s')
            if not chunk:
                break
            data += chunk
        elapsed = time.monotonic() - t0
    finally:
        sock.close()
    assert 1.0 <= elapsed <= 6.0, elapsed


def test_preauth_timeout_in_tls_handshake_starttls(server_factory, raw):
    """c2s.preauth_timeout = 2 s: after <proceed/>, half a ClientHello and
    silence: the connection is closed within a few seconds."""
    srv = limited(server_factory, c2s={'preauth_timeout': 2})
    c = raw(server=srv)
    c.open_stream()
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    c.expect(q('urn:ietf:params:xml:ns:xmpp-tls', 'proceed'))
    c.sock.sendall(half_client_hello())
    t0 = time.monotonic()
    c.sock.settimeout(8)
    while True:
        try:
            chunk = c.sock.recv(4096)
        except ConnectionResetError:
            chunk = b''
        except socket.timeout:
            raise AssertionError('still open after 8 s')
        if not chunk:
            break
    assert 1.0 <= time.monotonic() - t0 <= 6.0


def test_preauth_timeout_in_sasl(server_factory, raw):
    """c2s.preauth_timeout = 2 s: a client that starts SCRAM and never
    answers the challenge gets <connection-timeout/> and is closed."""
    srv = limited(server_factory, c2s={'preauth_timeout': 2})
    c = raw(server=srv)
    c.open_stream()
    c.starttls()
    c._auth_send('SCRAM-SHA-256', b'n,,n=alice,r=slowloris-nonce-000')
    c.expect(q(NS_SASL, 'challenge'))
    t0 = time.monotonic()
    c.expect_stream_error('connection-timeout', timeout=8)
    assert time.monotonic() - t0 <= 6.0


# ---- a thousand connections from one address --------------------------------

FLOOD_IP = '127.0.0.2'


def flood(srv, n, hold, result):
    """Opens n connections from FLOOD_IP, sends a stream header on each and
    sorts the answers: features (served) or policy-violation (refused).
    Keeps the served ones open until hold is set."""
    sel = selectors.DefaultSelector()
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((FLOOD_IP, 0))
            s.settimeout(5)
            s.connect((HOST, srv.c2s_port))
            s.sendall(header())
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, bytearray())
        deadline = time.monotonic() + 10
        pending = len(socks)
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                try:
                    data = key.fileobj.recv(8192)
                except OSError:
                    data = b''
                buf = key.data
                buf += data
                if b'policy-violation' in buf:
                    result['refused'] += 1
                elif b'</stream:features>' in buf or \
                        b'<stream:features/>' in buf:
                    result['served'] += 1
                elif data:
                    continue
                else:
                    result['closed'] += 1
                sel.unregister(key.fileobj)
                pending -= 1
        result['unanswered'] = pending
        result['ready'].set()
        hold.wait(20)
    except Exception as e:          # reported by the test
        result['error'] = repr(e)
        result['ready'].set()
    finally:
        for s in socks:
            s.close()
        sel.close()


def test_1000_connections_from_one_address(server_factory, raw):
    """limits.max_connections_per_ip = 100 (the default) with RFC 6120
    13.12: 1000 connections from 127.0.0.2, each sending a header: 100 are
    served, 900 refused with <policy-violation/>, while alice and bob, on
    127.0.0.1, exchange messages that each arrive within 1 s."""
    srv = limited(server_factory, max_connections_per_ip=100)
    alice = raw(server=srv)
    alice.login('alice', USERS['alice'], resource='lat')
    bob = raw(server=srv)
    bob.login('bob', USERS['bob'], resource='lat')
    result = {'served': 0, 'refused': 0, 'closed': 0, 'unanswered': 0,
              'ready': threading.Event()}
    hold = threading.Event()
    th = threading.Thread(target=flood, args=(srv, 1000, hold, result),
                          daemon=True)
    th.start()
    worst, count = 0.0, 0
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end:
            t0 = time.monotonic()
            bob.send("<message to='alice@%s/lat' type='chat' id='l%d'>"
                     "<body>t</body></message>" % (DOMAIN, count))
            m = alice.wait_for(lambda e: e.tag == MSG, 2)
            assert m.get('id') == 'l%d' % count
            worst = max(worst, time.monotonic() - t0)
            count += 1
            if result['ready'].is_set():
                break
            time.sleep(0.02)
        assert result['ready'].wait(2), 'the flood did not finish'
        assert 'error' not in result, result['error']
        served = result['served']
        ping(alice)
    finally:
        hold.set()
        th.join(10)
    assert worst < 1.0, 'a message took %.2fs during the flood' % worst
    assert count >= 5
    assert served == 100, result
    assert result['refused'] == 900, result
    assert srv.running()
