"""Checks of the suite's own SCRAM client and channel-binding code, so that a
failing login against magpied can be blamed on the server: RFC 5802 and
RFC 7677 test vectors, a cross-check with slixmpp's independent SCRAM code,
and channel-binding values compared with the peer of a local TLS session.
No server needed."""

import base64
import hashlib
import socket
import ssl
import threading

import pytest

import scram


def test_rfc5802_sha1_vector():
    """RFC 5802 section 5: the SCRAM-SHA-1 example exchange."""
    c = scram.ScramClient('SCRAM-SHA-1', 'user', 'pencil',
                          nonce='fyko+d2lbbFgONRv9qkxdawL')
    assert c.client_first() == b'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL'
    server_first = (b'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,'
                    b's=QSXCR+Q6sek8bf92,i=4096')
    assert c.client_final(server_first) == (
        b'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,'
        b'p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=')
    c.verify_server_final(b'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')


def test_rfc7677_sha256_vector():
    """RFC 7677 section 3: the SCRAM-SHA-256 example exchange."""
    c = scram.ScramClient('SCRAM-SHA-256', 'user', 'pencil',
                          nonce='rOprNGfwEbeRWgbNEkqO')
    assert c.client_first() == b'n,,n=user,r=rOprNGfwEbeRWgbNEkqO'
    server_first = (b'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,'
                    b's=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')
    assert c.client_final(server_first) == (
        b'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,'
        b'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=')
    c.verify_server_final(
        b'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')


def test_bad_server_signature_rejected():
    """RFC 5802 section 5: the client must verify the server signature."""
    c = scram.ScramClient('SCRAM-SHA-1', 'user', 'pencil',
                          nonce='fyko+d2lbbFgONRv9qkxdawL')
    c.client_first()
    c.client_final(b'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,'
                   b's=QSXCR+Q6sek8bf92,i=4096')
    with pytest.raises(scram.ScramError):
        c.verify_server_final(b'v=' + base64.b64encode(b'x' * 20))
    with pytest.raises(scram.ScramError):
        c.verify_server_final(b'e=other-error')


def test_server_nonce_must_extend_client_nonce():
    """RFC 5802 section 5.1: r= starts with the client nonce."""
    c = scram.ScramClient('SCRAM-SHA-256', 'user', 'pencil', nonce='abc')
    c.client_first()
    with pytest.raises(scram.ScramError):
        c.client_final(b'r=xyzdef,s=QSXCR+Q6sek8bf92,i=4096')
    with pytest.raises(scram.ScramError):
        c.client_final(b'r=abc,s=QSXCR+Q6sek8bf92,i=4096')
    with pytest.raises(scram.ScramError):
        c.client_final(b'm=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096')


def test_gs2_header_and_saslname_escaping():
    """RFC 5802 section 5.1 (saslname escaping) and 7 (gs2 header)."""
    c = scram.ScramClient('SCRAM-SHA-256-PLUS', 'a,b=c', 'p',
                          cb_type='tls-exporter', cb_data=b'\x01' * 32,
                          nonce='n0')
    assert c.client_first() == b'p=tls-exporter,,n=a=2Cb=3Dc,r=n0'
    final = c.client_final(b'r=n0srv,s=QSXCR+Q6sek8bf92,i=4096')
    cbind = base64.b64encode(b'p=tls-exporter,,' + b'\x01' * 32)
    assert final.startswith(b'c=' + cbind + b',r=n0srv,p=')
    y = scram.ScramClient('SCRAM-SHA-1', 'u', 'p', cb_flag='y', nonce='n')
    assert y.client_first() == b'y,,n=u,r=n'
    y.client_final(b'r=nx,s=QSXCR+Q6sek8bf92,i=4096')


@pytest.mark.parametrize('mech', ['SCRAM-SHA-1', 'SCRAM-SHA-256',
                                  'SCRAM-SHA-512'])
def test_matches_slixmpp_scram(mech):
    """RFC 5802 section 3 / RFC 7677: same proof as slixmpp's SCRAM code
    (an independent implementation; RFC 7677 has no SHA-512 vector)."""
    from slixmpp.util import sasl
    creds = {'username': b'alice', 'password': b'p\xc3\xa4ss word',
             'authzid': b'', 'channel_binding': b''}
    other = sasl.MECHANISMS[mech](mech, creds, {'encrypted': True,
                                                'unencrypted_scram': True})
    first = other.process()
    cnonce = first.split(b',r=', 1)[1].decode()
    mine = scram.ScramClient(mech, 'alice', 'p\u00e4ss word', nonce=cnonce)
    assert mine.client_first() == first
    server_first = ('r=%sSRV,s=%s,i=4096' % (
        cnonce, base64.b64encode(b'0123456789abcdef').decode())).encode()
    assert mine.client_final(server_first) == other.process(server_first)


def test_split_mechanism():
    assert scram.split_mechanism('SCRAM-SHA-512-PLUS') == ('sha512', True)
    assert scram.split_mechanism('SCRAM-SHA-1') == ('sha1', False)
    with pytest.raises(ValueError):
        scram.split_mechanism('SCRAM-MD5')
    with pytest.raises(ValueError):
        scram.split_mechanism('PLAIN')


def _self_signed(tmp_path):
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        pytest.skip('python3-cryptography missing')
    import datetime
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA384()))
    crt, k = tmp_path / 'c.pem', tmp_path / 'k.pem'
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return crt, k, cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize('version', [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_channel_binding_values(tmp_path, version):
    """RFC 9266 (tls-exporter) and RFC 5929 4.1 (tls-server-end-point):
    the client's values equal the server end's exporter and the hash of the
    certificate with its signature hash (SHA-384 here)."""
    crt, key, der = _self_signed(tmp_path)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(crt, key)
    sctx.minimum_version = sctx.maximum_version = version
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(1)
    lsock.settimeout(5)
    got = {}

    def serve():
        try:
            conn, _ = lsock.accept()
            conn.settimeout(5)
            s = sctx.wrap_socket(conn, server_side=True)
            got['server'] = scram.tls_exporter(s)
            s.recv(1)
            s.close()
        except Exception as e:  # reported by the assertion below
            got['error'] = e
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(lsock.getsockname(), timeout=5) as raw:
        with cctx.wrap_socket(raw, server_hostname='localhost') as c:
            assert c.version() == {ssl.TLSVersion.TLSv1_2: 'TLSv1.2',
                                   ssl.TLSVersion.TLSv1_3: 'TLSv1.3'}[version]
            exporter = scram.tls_exporter(c)
            endpoint = scram.tls_server_end_point(c)
            c.sendall(b'x')
            t.join(5)
    lsock.close()
    assert 'error' not in got, got
    assert exporter is not None and len(exporter) == 32
    assert got['server'] == exporter
    assert endpoint == hashlib.sha384(der).digest()
