"""A blocking raw-socket XMPP client for hostile and exact-protocol tests:
every read has a deadline, every byte received is kept for error messages."""

import base64
import itertools
import re
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import scram

NS_STREAM = 'http://etherx.jabber.org/streams'
NS_CLIENT = 'jabber:client'
NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls'
NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session'
NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams'
NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'
NS_SASL_CB = 'urn:xmpp:sasl-cb:0'

DEFAULT_TIMEOUT = 5.0
_ids = itertools.count(1)


def q(ns, name):
    return '{%s}%s' % (ns, name)


def header(to='localhost', *, ns=NS_CLIENT, stream_ns=NS_STREAM,
           version='1.0', xml_decl=True, frm=None, lang='en', extra=''):
    """A client stream header; to=None leaves 'to' out."""
    parts = ["<?xml version='1.0'?>" if xml_decl else '', '<stream:stream']
    if to is not None:
        parts.append(' to=' + quoteattr(to))
    if frm is not None:
        parts.append(' from=' + quoteattr(frm))
    if version is not None:
        parts.append(" version='%s'" % version)
    if lang is not None:
        parts.append(" xml:lang='%s'" % lang)
    if ns is not None:
        parts.append(" xmlns='%s'" % ns)
    if stream_ns is not None:
        parts.append(" xmlns:stream='%s'" % stream_ns)
    parts.append(extra + '>')
    return ''.join(parts).encode()


def client_tls_context(min_version=ssl.TLSVersion.TLSv1_2, max_version=None,
                       alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


class ProtocolError(AssertionError):
    pass


class StreamClosed(ProtocolError):
    pass


def text_of(elem):
    return ET.tostring(elem, encoding='unicode') if elem is not None else None


def error_condition(elem, ns=NS_STANZAS):
    """The defined condition of a stanza <error/> or stream error element."""
    if elem is None:
        return None
    err = elem if elem.tag in (q(NS_STREAM, 'error'), q(NS_CLIENT, 'error')) \
        else elem.find(q(NS_CLIENT, 'error'))
    if err is None:
        return None
    for child in err:
        if child.tag.startswith('{%s}' % ns) and not child.tag.endswith('}text'):
            return child.tag.split('}', 1)[1]
    return None


class RawClient:
    """One TCP connection to the server.

    Received bytes feed an incremental XML parser for the current stream;
    top-level elements come out of next_element(). Stream restarts (after
    STARTTLS and SASL) start a new parser.
    """

    def __init__(self, host, port, *, direct_tls=False, tls_context=None,
                 timeout=DEFAULT_TIMEOUT, server_name='localhost'):
        self.host, self.port = host, port
        self.timeout = timeout
        self.server_name = server_name
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.tls = False
        self.eof = False
        self.received = bytearray()   # everything, for diagnostics
        self.sent = bytearray()
        self.stream_data = bytearray()  # since the last stream (re)start
        self.features = None
        self.stream_attrs = None
        self.jid = None
        self.closed_stream = False
        self._new_parser()
        if direct_tls:
            ctx = tls_context or client_tls_context(alpn=['xmpp-client'])
            self._wrap(ctx)

    # ---- transport -----------------------------------------------------

    def _wrap(self, ctx):
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.server_name)
        self.tls = True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sent += data
        self.sock.sendall(data)

    def try_send(self, data):
        """send() that tolerates a peer that already closed."""
        try:
            self.send(data)
            return True
        except (OSError, ssl.SSLError):
            return False

    def flood(self, chunks, *, send_timeout=5.0):
        """Sends chunks while also reading what the server says, so that an
        error it sends early is seen even if it then resets the connection.
        Stops at the first chunk that cannot be sent or once the server has
        ended the stream; returns the number of chunks sent."""
        sent = 0
        for chunk in chunks:
            if isinstance(chunk, str):
                chunk = chunk.encode()
            try:
                self._recv_once(time.monotonic() + 0.001)
            except socket.timeout:
                pass
            if self.eof or self.stream_ended or self.elements:
                break
            try:
                self.sock.settimeout(send_timeout)
                self.sock.sendall(chunk)
            except (OSError, ssl.SSLError):
                break
            self.sent += chunk[:64]
            sent += 1
        return sent

    def _recv_once(self, deadline):
        """Reads what is there; returns b'' on EOF; raises on timeout."""
        if self.eof:
            return b''
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError,
                ssl.SSLZeroReturnError):
            data = b''
        except ssl.SSLError as e:
            # A peer that closes mid-record or sends an alert ends the stream.
            if 'timed out' in str(e):
                raise socket.timeout()
            data = b''
        if not data:
            self.eof = True
            return b''
        self.received += data
        self.stream_data += data
        self._feed(data)
        return data

    def describe(self):
        tail = bytes(self.received[-3000:])
        return 'received so far (last 3000 bytes): %r' % tail

    # ---- XML -----------------------------------------------------------

    def _new_parser(self):
        self.parser = ET.XMLPullParser(events=('start', 'end'))
        self.depth = 0
        self.root = None
        self.elements = []
        self.parse_error = None
        self.stream_ended = False
        self.stream_data = bytearray()

    def _feed(self, data):
        if self.parse_error is not None:
            return
        try:
            self.parser.feed(data)
            for ev, elem in self.parser.read_events():
                if ev == 'start':
                    if self.depth == 0:
                        self.root = elem
                        self.stream_attrs = dict(elem.attrib)
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.elements.append(elem)
                        self.root.remove(elem)
                    elif self.depth == 0:
                        self.stream_ended = True
        except ET.ParseError as e:
            self.parse_error = e

    def restart_parser(self):
        self._new_parser()

    def next_element(self, timeout=None, *, allow_end=False):
        """The next complete top-level element of the server's stream.
        Raises StreamClosed when the stream or connection ends first (or
        returns None if allow_end)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if self.elements:
                return self.elements.pop(0)
            if self.parse_error is not None:
                raise ProtocolError('server sent bad XML (%s); %s' %
                                    (self.parse_error, self.describe()))
            if self.stream_ended or self.eof:
                if allow_end:
                    return None
                raise StreamClosed('stream closed (end tag: %s, eof: %s) '
                                   'while waiting for an element; %s' %
                                   (self.stream_ended, self.eof,
                                    self.describe()))
            try:
                self._recv_once(deadline)
            except socket.timeout:
                raise ProtocolError('timed out after %.1fs waiting for an '
                                    'element; %s' % (timeout or self.timeout,
                                                     self.describe()))

    def expect(self, tag, timeout=None):
        elem = self.next_element(timeout)
        if elem.tag != tag:
            raise ProtocolError('expected %s, got %s' % (tag, text_of(elem)))
        return elem

    def wait_for(self, predicate, timeout=None, what='element'):
        """Skips elements until one satisfies predicate."""
        deadline = time.monotonic() + (timeout or self.timeout)
        skipped = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError('timed out waiting for %s; skipped %s' %
                                    (what, [text_of(e) for e in skipped]))
            elem = self.next_element(left)
            if predicate(elem):
                return elem
            skipped.append(elem)

    def elements_for(self, wait):
        """Yields every element that arrives within wait seconds. Running
        out of time ends it quietly; the stream ending raises StreamClosed."""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                elem = self.next_element(left)
            except StreamClosed:
                raise
            except ProtocolError as e:
                if 'timed out' in str(e):
                    return
                raise
            yield elem

    def no_element(self, timeout=1.0):
        """Asserts that nothing arrives for a while (connection stays up)."""
        for elem in self.elements_for(timeout):
            raise ProtocolError('unexpected element: %s' % text_of(elem))

    def sync(self, to='localhost', timeout=5.0):
        """A ping round trip to the server; returns the elements that came
        before its answer (the server handles one stream in order, so all
        it did because of what was sent before has arrived)."""
        id_ = 'sync%d' % next(_ids)
        self.send("<iq type='get' id='%s' to='%s'><ping xmlns='urn:xmpp:ping'"
                  "/></iq>" % (id_, to))
        got = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError('no ping answer; %s' % self.describe())
            elem = self.next_element(left)
            if elem.tag == q(NS_CLIENT, 'iq') and elem.get('id') == id_:
                if elem.get('type') != 'result':
                    raise ProtocolError('ping answered with %s' %
                                        text_of(elem))
                return got
            got.append(elem)

    def wait_header(self, timeout=None):
        """Waits for the server's stream header; returns its attributes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.root is None:
            if self.parse_error is not None:
                raise ProtocolError('bad XML from server: %s; %s' %
                                    (self.parse_error, self.describe()))
            if self.eof:
                raise StreamClosed('connection closed before the server '
                                   'header; %s' % self.describe())
            try:
                self._recv_once(deadline)
            except socket.timeout:
                raise ProtocolError('no stream header; ' + self.describe())
        return self.stream_attrs

    def read_until(self, pattern, timeout=None):
        """Regex search over the bytes of the current stream."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = rx.search(self.stream_data)
            if m:
                return m
            if self.eof:
                raise StreamClosed('EOF before %r; %s' % (pattern,
                                                          self.describe()))
            try:
                self._recv_once(deadline)
            except socket.timeout:
                raise ProtocolError('timed out waiting for %r; %s' %
                                    (pattern, self.describe()))

    def wait_closed(self, timeout=None):
        """Reads until the server closes the TCP connection; asserts it does
        within the timeout. Returns the bytes of the current stream."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            try:
                self._recv_once(deadline)
            except socket.timeout:
                raise ProtocolError('server did not close the connection '
                                    'within %.1fs; %s' %
                                    (timeout or self.timeout, self.describe()))
        return bytes(self.stream_data)

    def is_open(self, wait=0.5):
        """True if the connection is still up after waiting a little."""
        deadline = time.monotonic() + wait
        try:
            while not self.eof:
                self._recv_once(deadline)
        except socket.timeout:
            return True
        return False

    # ---- stream setup --------------------------------------------------

    def open_stream(self, to='localhost', *, features=True, **kw):
        """Sends a header and reads the server's header and features."""
        self.restart_parser()
        self.send(header(to, **kw))
        attrs = self.wait_header()
        if features:
            self.features = self.expect(q(NS_STREAM, 'features'))
        return attrs

    def feature(self, ns, name):
        if self.features is None:
            return None
        return self.features.find(q(ns, name))

    def mechanisms(self):
        mechs = self.feature(NS_SASL, 'mechanisms')
        if mechs is None:
            return []
        return [m.text for m in mechs.findall(q(NS_SASL, 'mechanism'))]

    def cb_types(self):
        """XEP-0440 channel-binding types, None when not advertised."""
        el = self.feature(NS_SASL_CB, 'sasl-channel-binding')
        if el is None:
            return None
        return [c.get('type') for c in el.findall(q(NS_SASL_CB,
                                                    'channel-binding'))]

    def starttls(self, ctx=None, *, restart=True):
        self.send("<starttls xmlns='%s'/>" % NS_TLS)
        self.expect(q(NS_TLS, 'proceed'))
        self.restart_parser()
        self._wrap(ctx or client_tls_context())
        if restart:
            self.open_stream()

    def _auth_send(self, mech, initial):
        if initial is None:
            payload = ''
        elif initial == b'':
            payload = '='
        else:
            payload = base64.b64encode(initial).decode()
        self.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" %
                  (NS_SASL, mech, payload))

    def auth_plain(self, user, password, authzid=''):
        """Returns the <success/> or <failure/> element."""
        self._auth_send('PLAIN', ('%s\0%s\0%s' % (authzid, user, password))
                        .encode())
        return self.next_element()

    def auth_scram(self, mech, user, password, *, cb_type=None, cb_data=None,
                   cb_flag=None, verify=True):
        """Runs SCRAM; returns the final <success/> or <failure/> element."""
        if cb_type and cb_data is None:
            cb_data = scram.channel_binding(self.sock, cb_type)
            if cb_data is None:
                raise RuntimeError('channel binding %s unavailable' % cb_type)
        client = scram.ScramClient(mech, user, password, cb_type=cb_type,
                                   cb_data=cb_data or b'', cb_flag=cb_flag)
        self._auth_send(mech, client.client_first())
        elem = self.next_element()
        if elem.tag != q(NS_SASL, 'challenge'):
            return elem
        server_first = base64.b64decode(elem.text or '')
        final = client.client_final(server_first)
        self.send("<response xmlns='%s'>%s</response>" %
                  (NS_SASL, base64.b64encode(final).decode()))
        elem = self.next_element()
        if elem.tag == q(NS_SASL, 'success') and verify:
            data = base64.b64decode(elem.text or '')
            client.verify_server_final(data)
        elif elem.tag == q(NS_SASL, 'challenge') and verify:
            # Additional data may come as a challenge (RFC 6120 6.3.10).
            client.verify_server_final(base64.b64decode(elem.text or ''))
            self.send("<response xmlns='%s'/>" % NS_SASL)
            elem = self.next_element()
        return elem

    def authenticate(self, user, password, mech='SCRAM-SHA-256', **kw):
        if mech == 'PLAIN':
            res = self.auth_plain(user, password)
        else:
            res = self.auth_scram(mech, user, password, **kw)
        if res.tag != q(NS_SASL, 'success'):
            raise ProtocolError('authentication as %s with %s failed: %s' %
                                (user, mech, text_of(res)))
        self.open_stream()
        return res

    def iq(self, body, type_='get', to=None, id_=None, timeout=None):
        """Sends an iq and waits for the response with the same id."""
        id_ = id_ or 'iq%d' % next(_ids)
        attrs = " type='%s' id='%s'" % (type_, id_)
        if to:
            attrs += ' to=' + quoteattr(to)
        self.send('<iq%s>%s</iq>' % (attrs, body))
        return self.wait_for(lambda e: e.tag == q(NS_CLIENT, 'iq') and
                             e.get('id') == id_, timeout,
                             'iq response %s' % id_)

    def bind(self, resource=None):
        body = "<bind xmlns='%s'>%s</bind>" % (
            NS_BIND, '<resource>%s</resource>' % resource
            if resource is not None else '')
        res = self.iq(body, 'set')
        if res.get('type') != 'result':
            raise ProtocolError('bind failed: %s' % text_of(res))
        jid = res.find('%s/%s' % (q(NS_BIND, 'bind'), q(NS_BIND, 'jid')))
        if jid is None or not jid.text:
            raise ProtocolError('bind result without jid: %s' % text_of(res))
        self.jid = jid.text
        return self.jid

    def login(self, user, password, *, resource=None, mech='SCRAM-SHA-256',
              bind=True, tls_context=None, **kw):
        """Header, STARTTLS (unless direct TLS), SASL, bind."""
        self.open_stream()
        if not self.tls:
            self.starttls(tls_context)
        self.authenticate(user, password, mech, **kw)
        if bind:
            return self.bind(resource)
        return None

    def presence(self, priority=None, extra=''):
        body = '<priority>%d</priority>' % priority if priority is not None \
            else ''
        self.send('<presence>%s%s</presence>' % (body, extra))

    # ---- endings -------------------------------------------------------

    def expect_stream_error(self, condition, timeout=None, *, close=True):
        """Waits for <stream:error/> with the condition, then checks that the
        server ends the stream and closes the TCP connection (RFC 6120
        4.9.1.1). Returns the error element."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            if self.root is None:
                self.wait_header(timeout or self.timeout)
            elem = self.wait_for(lambda e: e.tag == q(NS_STREAM, 'error'),
                                 max(0.1, deadline - time.monotonic()),
                                 'stream error <%s/>' % condition)
        except StreamClosed as e:
            raise ProtocolError('no <stream:error><%s/> before close: %s' %
                                (condition, e))
        got = error_condition(elem, NS_STREAMS)
        if got != condition:
            raise ProtocolError('expected stream error <%s/>, got <%s/>: %s'
                                % (condition, got, text_of(elem)))
        if close:
            self.expect_stream_end(max(1.0, deadline - time.monotonic()))
        return elem

    def expect_stream_end(self, timeout=None):
        """</stream:stream> from the server, then a closed connection."""
        left = timeout or self.timeout
        deadline = time.monotonic() + left
        while not self.stream_ended:
            if self.parse_error is not None:
                raise ProtocolError('bad XML from server: %s; %s' %
                                    (self.parse_error, self.describe()))
            if self.eof:
                raise ProtocolError('connection closed without '
                                    '</stream:stream>; %s' % self.describe())
            try:
                self._recv_once(deadline)
            except socket.timeout:
                raise ProtocolError('no </stream:stream> within %.1fs; %s' %
                                    (left, self.describe()))
        self.wait_closed(max(1.0, deadline - time.monotonic()))

    def end_stream(self):
        self.try_send('</stream:stream>')
