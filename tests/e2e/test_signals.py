"""magpied's signals: SIGTERM ends every stream properly (RFC 6120 4.4 and
4.9.3.19 system-shutdown) and exits 0; SIGHUP reloads certificates without
dropping anyone."""

import signal
import ssl
import time

from magpie import DOMAIN, USERS
from rawxmpp import NS_STREAM, q


def peer_cert(raw, srv):
    c = raw(server=srv)
    c.open_stream()
    c.starttls()
    der = c.sock.getpeercert(binary_form=True)
    c.close()
    return der


def ping_ok(c):
    return c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN).get('type') == \
        'result'


def test_sigterm_closes_streams_with_system_shutdown(server_factory, raw):
    """RFC 6120 4.9.3.19: on shutdown bound clients get <system-shutdown/>,
    then </stream:stream> and a closed connection; streams still in
    negotiation are at least closed with </stream:stream>; exit code 0."""
    srv = server_factory()
    bound = [raw.logged_in(u, server=srv) for u in ('alice', 'bob')]
    direct = raw.logged_in('carol', server=srv, direct_tls=True)
    pre_tls = raw(server=srv)
    pre_tls.open_stream()
    pre_auth = raw(server=srv)
    pre_auth.open_stream()
    pre_auth.starttls()
    srv.signal(signal.SIGTERM)
    for c in bound + [direct]:
        c.expect_stream_error('system-shutdown', timeout=10)
    for c in (pre_tls, pre_auth):
        elem = c.next_element(10, allow_end=True)
        if elem is not None:
            assert elem.tag == q(NS_STREAM, 'error')
            c.expect_stream_end(10)
        else:
            assert c.stream_ended, c.describe()
            c.wait_closed(10)
    rc = srv.wait(10)
    assert rc == 0, 'exit %r; log:\n%s' % (rc, srv.log_tail())
    srv.stop()


def test_sigterm_with_slixmpp_client(server_factory, slix_for):
    """RFC 6120 4.4 through slixmpp: the client sees the stream end."""
    import asyncio
    srv = server_factory()
    h = slix_for(srv)

    async def body():
        c = await h.client('alice')
        gone = asyncio.get_running_loop().create_future()
        c.add_event_handler('disconnected',
                            lambda _e: gone.done() or gone.set_result(True))
        srv.signal(signal.SIGTERM)
        await asyncio.wait_for(gone, 10)
        conds = [e['condition'] for e in c.stream_errors]
        assert conds == ['system-shutdown'], conds
    h.run(body())
    assert srv.wait(10) == 0, srv.log_tail()
    srv.stop()


def test_sigterm_idle_server_exits_quickly(server_factory):
    """A server with no clients exits 0 within a second or two."""
    srv = server_factory()
    start = time.monotonic()
    srv.signal(signal.SIGTERM)
    assert srv.wait(10) == 0, srv.log_tail()
    assert time.monotonic() - start < 5
    srv.stop()


def test_sighup_reloads_certificate(server_factory, raw):
    """SIGHUP reloads certificates: new connections get the new one,
    established sessions keep working (RFC 6120 13.7 operations)."""
    srv = server_factory()
    old = peer_cert(raw, srv)
    keep = raw.logged_in('alice', server=srv)
    srv.ctl('cert', '-f', DOMAIN)
    srv.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    new = old
    while new == old and time.monotonic() < deadline:
        time.sleep(0.2)
        new = peer_cert(raw, srv)
    assert new != old, 'still the old certificate 10 s after SIGHUP'
    assert new == ssl.PEM_cert_to_DER_cert(srv.cert_path.read_text())
    assert ping_ok(keep)
    assert srv.running()
    c = raw(server=srv, direct_tls=True)
    assert c.sock.getpeercert(binary_form=True) == new


def test_sighup_with_broken_certificate_keeps_old(server_factory, raw):
    """A reload that fails (unreadable new certificate) keeps the server up
    with the certificate it had."""
    srv = server_factory()
    old = peer_cert(raw, srv)
    srv.cert_path.write_text('-----BEGIN CERTIFICATE-----\nnot a cert\n'
                             '-----END CERTIFICATE-----\n')
    srv.signal(signal.SIGHUP)
    time.sleep(1.0)
    assert srv.running(), srv.log_tail()
    assert peer_cert(raw, srv) == old
    c = raw(server=srv)
    c.login('bob', USERS['bob'])
    assert ping_ok(c)


def test_sighup_twice_quickly(server_factory, raw):
    """Repeated SIGHUPs are harmless."""
    srv = server_factory()
    for _ in range(5):
        srv.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert srv.running(), srv.log_tail()
    c = raw(server=srv)
    c.login('alice', USERS['alice'])
    assert ping_ok(c)
