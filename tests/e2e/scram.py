"""A client-side SCRAM (RFC 5802, RFC 7677) and channel-binding helper, written
from the RFCs so that the server is checked against an independent
implementation, not against its own code."""

import base64
import hashlib
import hmac
import os
import unicodedata

HASHES = {'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512'}


class ScramError(Exception):
    pass


def saslprep(text):
    """Enough of SASLprep / OpaqueString for the passwords the tests use:
    non-ASCII spaces become U+0020, then NFC (RFC 8265 4.2)."""
    mapped = ''.join(' ' if unicodedata.category(ch) == 'Zs' else ch
                     for ch in text)
    return unicodedata.normalize('NFC', mapped)


def escape_saslname(name):
    # RFC 5802 5.1: ',' and '=' cannot appear raw in a saslname.
    return name.replace('=', '=3D').replace(',', '=2C')


def parse_attrs(msg):
    out = {}
    for part in msg.split(b','):
        if len(part) < 2 or part[1:2] != b'=':
            raise ScramError('bad SCRAM attribute %r in %r' % (part, msg))
        out[part[:1].decode()] = part[2:]
    return out


def split_mechanism(mech):
    """'SCRAM-SHA-256-PLUS' -> ('sha256', True)."""
    if not mech.startswith('SCRAM-'):
        raise ValueError('not a SCRAM mechanism: %s' % mech)
    rest = mech[len('SCRAM-'):]
    plus = rest.endswith('-PLUS')
    if plus:
        rest = rest[:-len('-PLUS')]
    if rest not in HASHES:
        raise ValueError('unknown SCRAM hash: %s' % mech)
    return HASHES[rest], plus


class ScramClient:
    """One SCRAM exchange.

    cb_type/cb_data: channel binding for the -PLUS variants.
    cb_flag: override the GS2 channel-binding flag ('n', 'y' or 'p=TYPE'),
    used to test downgrade protection.
    """

    def __init__(self, mechanism, username, password, *, cb_type=None,
                 cb_data=b'', cb_flag=None, authzid=None, nonce=None):
        self.hash, plus = split_mechanism(mechanism)
        self.username = username
        self.password = password
        if cb_flag is None:
            if plus:
                if not cb_type:
                    raise ValueError('-PLUS needs a channel-binding type')
                cb_flag = 'p=' + cb_type
            else:
                cb_flag = 'n'
        self.cb_flag = cb_flag
        self.cb_data = cb_data if cb_flag.startswith('p=') else b''
        self.authzid = authzid
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.gs2_header = (self.cb_flag + ',' +
                           ('a=' + escape_saslname(authzid) if authzid else '')
                           + ',').encode()
        self.client_first_bare = ('n=' + escape_saslname(username) + ',r=' +
                                  self.cnonce).encode()
        self.server_signature = None
        self.salted_password = None
        self.auth_message = None

    def _hmac(self, key, msg):
        return hmac.new(key, msg, self.hash).digest()

    def _h(self, data):
        return hashlib.new(self.hash, data).digest()

    def hi(self, password, salt, iterations):
        # RFC 5802 2.2: Hi() is PBKDF2 with HMAC and dkLen = hash length.
        return hashlib.pbkdf2_hmac(self.hash, password, salt, iterations)

    def client_first(self):
        return self.gs2_header + self.client_first_bare

    def client_final(self, server_first):
        attrs = parse_attrs(server_first)
        if 'm' in attrs:
            raise ScramError('server sent a mandatory extension')
        for k in ('r', 's', 'i'):
            if k not in attrs:
                raise ScramError('server-first lacks %s: %r' % (k, server_first))
        nonce = attrs['r']
        if not nonce.startswith(self.cnonce.encode()) or \
                len(nonce) <= len(self.cnonce):
            raise ScramError('server nonce does not extend ours')
        salt = base64.b64decode(attrs['s'], validate=True)
        iterations = int(attrs['i'])
        if iterations < 1:
            raise ScramError('bad iteration count')
        self.iterations = iterations
        self.salt = salt
        cbind = base64.b64encode(self.gs2_header + self.cb_data)
        without_proof = b'c=' + cbind + b',r=' + nonce
        self.salted_password = self.hi(saslprep(self.password).encode(),
                                       salt, iterations)
        client_key = self._hmac(self.salted_password, b'Client Key')
        stored_key = self._h(client_key)
        self.auth_message = (self.client_first_bare + b',' + server_first +
                             b',' + without_proof)
        signature = self._hmac(stored_key, self.auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = self._hmac(self.salted_password, b'Server Key')
        self.server_signature = self._hmac(server_key, self.auth_message)
        return without_proof + b',p=' + base64.b64encode(proof)

    def verify_server_final(self, server_final):
        attrs = parse_attrs(server_final)
        if 'e' in attrs:
            raise ScramError('server error: %s' % attrs['e'].decode())
        if 'v' not in attrs:
            raise ScramError('server-final lacks v=: %r' % server_final)
        got = base64.b64decode(attrs['v'], validate=True)
        if not hmac.compare_digest(got, self.server_signature):
            raise ScramError('server signature does not verify')


# ---- channel binding ---------------------------------------------------

def tls_server_end_point(sslsock):
    """RFC 5929 4.1: hash of the server certificate with the hash of its
    signature algorithm, SHA-256 where that is MD5 or SHA-1."""
    der = sslsock.getpeercert(binary_form=True)
    name = 'sha256'
    try:
        from cryptography import x509
        alg = x509.load_der_x509_certificate(der).signature_hash_algorithm
        if alg is not None and alg.name not in ('md5', 'sha1'):
            name = alg.name
    except ImportError:
        pass
    except Exception:  # e.g. Ed25519: no separate hash, RFC 5929 is silent
        pass
    return hashlib.new(name, der).digest()


_libssl = None


def _ssl_pointer(sslsock):
    """The OpenSSL SSL* behind a Python SSLSocket, found through CPython's
    PySSLSocket layout (PyObject_HEAD, Socket, ssl, ctx) and checked through
    its ctx slot before anything dereferences it. None when unsure."""
    import ctypes
    global _libssl
    obj = getattr(sslsock, '_sslobj', None)
    if obj is None:
        return None
    slots = ctypes.cast(id(obj), ctypes.POINTER(ctypes.c_void_p))
    if slots[4] != id(obj.context) or not slots[3]:
        return None
    if _libssl is None:
        for name in ('libssl.so.3', 'libssl.so'):
            try:
                _libssl = ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            return None
        _libssl.SSL_get_version.restype = ctypes.c_char_p
        _libssl.SSL_get_version.argtypes = [ctypes.c_void_p]
        _libssl.SSL_export_keying_material.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
            ctypes.c_size_t, ctypes.c_int]
        _libssl.SSL_export_keying_material.restype = ctypes.c_int
    ptr = slots[3]
    ver = _libssl.SSL_get_version(ptr)
    if ver is None or ver.decode() != sslsock.version():
        return None
    return ptr


def export_keying_material(sslsock, label, length):
    """RFC 5705 exporter through libssl (Python's ssl does not expose it);
    None when it cannot be reached."""
    import ctypes
    try:
        ptr = _ssl_pointer(sslsock)
    except Exception:
        return None
    if ptr is None:
        return None
    out = ctypes.create_string_buffer(length)
    if _libssl.SSL_export_keying_material(ptr, out, length, label,
                                          len(label), None, 0, 0) != 1:
        return None
    return out.raw


def tls_exporter(sslsock):
    """RFC 9266: 32 bytes, label EXPORTER-Channel-Binding, no context."""
    return export_keying_material(sslsock, b'EXPORTER-Channel-Binding', 32)


def channel_binding(sslsock, cb_type):
    if cb_type == 'tls-server-end-point':
        return tls_server_end_point(sslsock)
    if cb_type == 'tls-exporter':
        return tls_exporter(sslsock)
    if cb_type == 'tls-unique':
        return sslsock.get_channel_binding('tls-unique')
    raise ValueError(cb_type)
