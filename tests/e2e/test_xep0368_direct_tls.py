"""XEP-0368 (SRV records for XMPP over TLS): the direct-TLS port speaks TLS
from the first byte, offers no STARTTLS and behaves like the c2s port
after that."""

import socket
import ssl
import time

import pytest

from magpie import DOMAIN, HOST, USERS
from rawxmpp import NS_SASL, NS_TLS, client_tls_context, q, text_of


def test_direct_tls_login(raw):
    """XEP-0368 section 3: TLS first, then the usual stream; no STARTTLS
    (RFC 6120 5.3.1 does not apply on an encrypted stream)."""
    c = raw(direct_tls=True)
    assert c.sock.version() in ('TLSv1.2', 'TLSv1.3')
    c.open_stream()
    assert c.feature(NS_TLS, 'starttls') is None
    assert 'SCRAM-SHA-256' in c.mechanisms()
    c.authenticate('alice', USERS['alice'])
    assert c.bind('direct') == 'alice@%s/direct' % DOMAIN


def test_direct_tls_alpn(raw):
    """XEP-0368 section 3: clients offer ALPN 'xmpp-client'; if the server
    selects a protocol it must be that one."""
    c = raw(direct_tls=True, tls_context=client_tls_context(
        alpn=['xmpp-client']))
    assert c.sock.selected_alpn_protocol() in (None, 'xmpp-client')


def test_direct_tls_without_alpn(raw):
    """XEP-0368 section 3: ALPN is optional for the client."""
    c = raw(direct_tls=True, tls_context=client_tls_context())
    c.open_stream()
    assert c.mechanisms()


def test_direct_tls_plain_allowed(raw):
    """RFC 4616 section 4: PLAIN is fine once TLS protects the stream."""
    c = raw(direct_tls=True)
    c.open_stream()
    res = c.auth_plain('bob', USERS['bob'])
    assert res.tag == q(NS_SASL, 'success'), text_of(res)


@pytest.mark.parametrize('version', [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_direct_tls_versions(raw, version):
    """RFC 7590 3.1 on the direct-TLS port."""
    c = raw(direct_tls=True, tls_context=client_tls_context(
        min_version=version, max_version=version))
    c.open_stream()
    assert c.mechanisms()


def test_plaintext_on_direct_tls_port_closed(raw):
    """XEP-0368 section 3: a plain-text XMPP header on the TLS port is not
    an XMPP stream: the server closes without answering in XML."""
    s = socket.create_connection((HOST, raw.server.tls_port), timeout=5)
    try:
        s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' "
                  b"version='1.0' xmlns='jabber:client' "
                  b"xmlns:stream='http://etherx.jabber.org/streams'>")
        got = b''
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                d = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                d = b''
            if not d:
                break
            got += d
        else:
            raise AssertionError('connection not closed: %r' % got)
        assert b'<stream:features' not in got
    finally:
        s.close()


def test_slixmpp_direct_tls(slix):
    """XEP-0368 through slixmpp (use_ssl)."""
    async def body():
        c = await slix.client('carol', direct_tls=True, presence=False)
        assert c.boundjid.bare == 'carol@' + DOMAIN
    slix.run(body())


def test_direct_tls_and_starttls_clients_talk(raw):
    """XEP-0368: sessions from both ports share one router."""
    a = raw.logged_in('alice', resource='dt', direct_tls=True)
    b = raw.logged_in('bob', resource='st')
    a.send("<message to='bob@%s/st' type='chat' id='x'><body>hi</body>"
           "</message>" % DOMAIN)
    m = b.wait_for(lambda e: e.tag == q('jabber:client', 'message'))
    assert m.get('from') == 'alice@%s/dt' % DOMAIN
