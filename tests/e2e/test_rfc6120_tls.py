"""RFC 6120 section 5 (STARTTLS) and RFC 7590 (TLS in XMPP): TLS is
mandatory, only TLS 1.2 and 1.3 are spoken, and nothing is authenticated
in the clear."""

import os
import socket
import ssl
import struct
import time

import pytest

from magpie import DOMAIN, HOST, USERS
from rawxmpp import (NS_SASL, NS_STREAM, NS_STREAMS, NS_TLS, ProtocolError,
                     StreamClosed, client_tls_context, error_condition, q,
                     text_of)


def legacy_client_hello(version):
    """A ClientHello that offers only an old TLS version (0x0301 = TLS 1.0,
    0x0302 = TLS 1.1): no supported_versions extension, CBC-SHA suites.
    Built by hand so that the local OpenSSL's own floor cannot make the test
    pass without the server being asked."""
    suites = [0xc013, 0xc014, 0xc009, 0xc00a, 0x002f, 0x0035, 0x000a]
    host = DOMAIN.encode()
    sni = struct.pack('!HBH', len(host) + 3, 0, len(host)) + host
    exts = b''.join([
        struct.pack('!HH', 0x0000, len(sni)) + sni,
        struct.pack('!HHH', 0x000a, 6, 4) + struct.pack('!HH', 0x001d, 0x0017),
        struct.pack('!HHB', 0x000b, 2, 1) + b'\x00',
        struct.pack('!HHB', 0xff01, 1, 0),
    ])
    body = (struct.pack('!H', version) + os.urandom(32) + b'\x00' +
            struct.pack('!H', 2 * len(suites)) +
            b''.join(struct.pack('!H', s) for s in suites) + b'\x01\x00' +
            struct.pack('!H', len(exts)) + exts)
    hs = b'\x01' + struct.pack('!I', len(body))[1:] + body
    return b'\x16' + struct.pack('!HH', 0x0301, len(hs)) + hs


def read_tls_answer(sock, timeout=5.0):
    """The server's first TLS record: ('alert', level, desc),
    ('server_hello', version) or ('closed',)."""
    sock.settimeout(timeout)
    data = b''
    deadline = time.monotonic() + timeout
    while len(data) < 5 or len(data) < 5 + struct.unpack('!H', data[3:5])[0]:
        if time.monotonic() > deadline:
            raise AssertionError('no TLS answer within %.0fs: %r' %
                                 (timeout, data))
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            chunk = b''
        if not chunk:
            return ('closed', data)
        data += chunk
    ctype = data[0]
    if ctype == 0x15:
        return ('alert', data[5], data[6])
    if ctype == 0x16 and data[5] == 0x02:
        return ('server_hello', struct.unpack('!H', data[9:11])[0])
    return ('other', data[:16])


def starttls_raw(raw):
    """A connection that got <proceed/>, with the bare socket to hand."""
    c = raw()
    c.open_stream()
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    c.expect(q(NS_TLS, 'proceed'))
    return c


@pytest.mark.parametrize('version', [0x0301, 0x0302],
                         ids=['tls1.0', 'tls1.1'])
@pytest.mark.parametrize('port_kind', ['starttls', 'direct'])
def test_old_tls_versions_refused(raw, version, port_kind):
    """RFC 7590 3.1 and RFC 8996: TLS 1.0 and 1.1 are not negotiated; the
    server answers an old-only ClientHello with an alert or closes, never
    with a ServerHello."""
    if port_kind == 'starttls':
        c = starttls_raw(raw)
        sock = c.sock
    else:
        sock = socket.create_connection((HOST, raw.server.tls_port),
                                        timeout=5)
    try:
        sock.sendall(legacy_client_hello(version))
        answer = read_tls_answer(sock)
    finally:
        if port_kind == 'direct':
            sock.close()
    assert answer[0] in ('alert', 'closed'), answer
    if answer[0] == 'alert':
        # protocol_version (70) or handshake_failure (40) are the usual ones
        assert answer[1] == 2, 'a fatal alert is expected: %r' % (answer,)


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_python_client_limited_to_tls11_fails(raw):
    """RFC 8996: a stock client capped at TLS 1.1 cannot connect."""
    c = starttls_raw(raw)
    ctx = client_tls_context(min_version=ssl.TLSVersion.TLSv1,
                             max_version=ssl.TLSVersion.TLSv1_1)
    try:
        ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, OSError)):
        c._wrap(ctx)


@pytest.mark.parametrize('version', [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_tls12_and_tls13_negotiated(raw, version):
    """RFC 7590 3.1: TLS 1.2 and 1.3 are supported through STARTTLS."""
    c = raw()
    c.open_stream()
    c.starttls(client_tls_context(min_version=version, max_version=version))
    assert c.sock.version() == {ssl.TLSVersion.TLSv1_2: 'TLSv1.2',
                                ssl.TLSVersion.TLSv1_3: 'TLSv1.3'}[version]
    assert 'PLAIN' in c.mechanisms()
    c.authenticate('alice', USERS['alice'])
    assert c.bind()


def test_default_handshake_is_tls13(raw):
    """RFC 7590 3.1 (use the latest version both sides support)."""
    c = raw()
    c.open_stream()
    c.starttls()
    assert c.sock.version() == 'TLSv1.3'


def test_certificate_names_the_domain(raw, server):
    """RFC 6120 13.7.1.2 / RFC 6125: the self-signed certificate made on
    first start is for the served domain and is what the server presents."""
    c = raw()
    c.open_stream()
    c.starttls()
    der = c.sock.getpeercert(binary_form=True)
    pem = server.cert_path.read_text()
    first = pem[pem.index('-----BEGIN CERTIFICATE-----'):]
    first = first[:first.index('-----END CERTIFICATE-----') + 25]
    assert ssl.PEM_cert_to_DER_cert(first) == der
    ctx = ssl.create_default_context(cafile=str(server.cert_path))
    c2 = raw()
    c2.open_stream()
    c2.starttls(ctx)   # verifies the chain and the name 'localhost'


def _assert_no_auth_without_tls(c, sent):
    """Accepts a SASL <failure/> (encryption-required is the RFC 6120 6.5.3
    condition) or a stream error; never <success/>."""
    try:
        elem = c.next_element()
    except StreamClosed:
        return 'closed'
    if elem.tag == q(NS_SASL, 'success'):
        raise AssertionError('authenticated without TLS after %r' % sent)
    if elem.tag == q(NS_SASL, 'failure'):
        return [ch.tag.split('}')[1] for ch in elem]
    if elem.tag == q(NS_STREAM, 'error'):
        cond = error_condition(elem, NS_STREAMS)
        assert cond in ('policy-violation', 'not-authorized',
                        'unsupported-feature', 'encryption-required'), \
            text_of(elem)
        return cond
    raise AssertionError('unexpected answer to %r: %s' % (sent, text_of(elem)))


def test_plain_refused_before_tls(raw):
    """RFC 6120 5.3.1 and 6.4.1 (no SASL before mandatory TLS), RFC 4616
    section 4 (PLAIN only over a protected channel): PLAIN with a good
    password before STARTTLS does not authenticate."""
    c = raw()
    c.open_stream()
    assert c.feature(NS_SASL, 'mechanisms') is None
    c._auth_send('PLAIN', ('\0alice\0%s' % USERS['alice']).encode())
    res = _assert_no_auth_without_tls(c, 'PLAIN')
    if isinstance(res, list):
        assert 'encryption-required' in res or 'mechanism-too-weak' in res \
            or 'invalid-mechanism' in res, res


def test_scram_refused_before_tls(raw):
    """RFC 6120 5.3.1: with TLS required, SCRAM is not started in the
    clear either."""
    c = raw()
    c.open_stream()
    c._auth_send('SCRAM-SHA-256', b'n,,n=alice,r=abcdefgh')
    _assert_no_auth_without_tls(c, 'SCRAM-SHA-256')


def test_bind_refused_before_tls(raw):
    """RFC 6120 5.3.1 and 7.1: no resource binding (nor any stanza) on an
    unprotected, unauthenticated stream."""
    c = raw()
    c.open_stream()
    c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:"
           "xmpp-bind'/></iq>")
    c.expect_stream_error('not-authorized')


def test_starttls_twice_refused(raw):
    """RFC 6120 5.4.3.3: STARTTLS is not offered again after TLS; a second
    <starttls/> must not be honoured."""
    c = raw()
    c.open_stream()
    c.starttls()
    c.send("<starttls xmlns='%s'/>" % NS_TLS)
    try:
        elem = c.next_element()
    except StreamClosed:
        return
    assert elem.tag != q(NS_TLS, 'proceed'), text_of(elem)


def test_tls_garbage_closes(raw):
    """RFC 6120 5.4.3.2: a failed TLS negotiation ends the connection (no
    XMPP answer, no hang)."""
    c = starttls_raw(raw)
    c.sock.sendall(b'\x16\x03\x01\x00\x05hello' + b'\x00' * 64)
    c.sock.settimeout(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            d = c.sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            d = b''
        if not d:
            return
    raise ProtocolError('server kept the connection after TLS garbage')
