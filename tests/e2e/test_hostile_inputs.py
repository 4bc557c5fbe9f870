"""Hostile input over raw sockets, beyond test_rfc6120_stream_errors.py:
restricted XML on restarted streams (RFC 6120 11.1), character and encoding
abuse (11.3-11.6, XML 1.0 section 2.2), namespace abuse (4.8, 4.9.3.2),
addresses changed across restarts, oversized and slow elements (13.12),
malformed stanzas (8.2.3, 8.3), invalid JIDs (RFC 7622), SASL attacks
(RFC 5802), old TLS (RFC 8996) and stream-management elements sent out of
place (XEP-0198). Each stream error must come with </stream:stream> and a
closed connection (RFC 6120 4.9.1.1), and the server must go on serving
others: a witness session pings it after every error."""

import base64
import socket
import struct
import time
import xml.etree.ElementTree as ET

import pytest

import rawxmpp
import scram
from magpie import DOMAIN, HOST, USERS
from rawxmpp import (NS_BIND, NS_CLIENT, NS_SASL, NS_STANZAS, NS_STREAM,
                     NS_STREAMS, ProtocolError, StreamClosed,
                     error_condition, header, q, text_of)
from test_rfc6120_tls import legacy_client_hello, read_tls_answer

NS_ERRORS = 'urn:xmpp:errors'
NS_SM = 'urn:xmpp:sm:3'
IQ = q(NS_CLIENT, 'iq')
MSG = q(NS_CLIENT, 'message')
PING = "<ping xmlns='urn:xmpp:ping'/>"
MAX_STANZA = 262144          # c2s.max_stanza_size in magpie.py
UTF8_ERRORS = {'not-well-formed', 'bad-format'}


# ---- helpers -------------------------------------------------------------

@pytest.fixture(scope='module')
def witness(server):
    """carol, bound for the whole module: after each hostile stream she
    pings the server, proving it still serves others (RFC 6120 13.12)."""
    c = rawxmpp.RawClient(HOST, server.c2s_port)
    c.login('carol', USERS['carol'], resource='witness')
    yield c
    c.close()


def serving(witness):
    res = witness.iq(PING, to=DOMAIN, timeout=5)
    assert res.get('type') == 'result', text_of(res)


def fails(c, witness, condition, timeout=None):
    """The stream ends with <condition/> (then </stream:stream> and a
    closed connection), and the witness still gets answers."""
    err = c.expect_stream_error(condition, timeout)
    serving(witness)
    return err


def fails_with_one_of(c, witness, conditions, timeout=None):
    """Like fails() where the RFCs leave a choice of conditions."""
    deadline = time.monotonic() + (timeout or c.timeout)
    try:
        if c.root is None:
            c.wait_header()
        err = c.wait_for(lambda e: e.tag == q(NS_STREAM, 'error'),
                         max(0.1, deadline - time.monotonic()),
                         'stream error, one of %s' % sorted(conditions))
    except StreamClosed as e:
        raise ProtocolError('no stream error before close: %s' % e)
    cond = error_condition(err, NS_STREAMS)
    assert cond in conditions, text_of(err)
    c.expect_stream_end(max(1.0, deadline - time.monotonic()))
    serving(witness)
    return cond


def after_tls(raw, restart=True):
    """STARTTLS done; with restart=False the new header is the test's."""
    c = raw()
    c.open_stream()
    c.starttls(restart=restart)
    return c


def after_sasl(raw, user='alice', restart=True):
    """SASL succeeded; with restart=False the new header is the test's."""
    c = after_tls(raw)
    res = c.auth_scram('SCRAM-SHA-256', user, USERS[user])
    assert res.tag == q(NS_SASL, 'success'), text_of(res)
    if restart:
        c.open_stream()
    else:
        c.restart_parser()
    return c


def bound(raw, user='alice', resource=None):
    return raw.logged_in(user, resource=resource)


def sync(c, timeout=5.0):
    """A ping round trip; returns what arrived before its answer."""
    return c.sync(DOMAIN, timeout)


def nodelay(c):
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def trickle(c, data, *, byte_prefix=1024, chunk=16384):
    """Sends data one byte per write for the first byte_prefix bytes, then
    in chunks (the slow-start of a hostile client, kept fast)."""
    for i in range(min(byte_prefix, len(data))):
        c.sock.sendall(data[i:i + 1])
    for i in range(byte_prefix, len(data), chunk):
        c.sock.sendall(data[i:i + chunk])


DOCTYPE = (b"<?xml version='1.0'?><!DOCTYPE stream:stream "
           b"[<!ENTITY x 'boom'>]>")


# ---- restricted XML on every stream of a connection (RFC 6120 11.1) ------

def test_doctype_after_starttls(raw, witness):
    """RFC 6120 11.1 and 4.9.3.18: a DTD with an entity declaration in the
    stream restarted after STARTTLS is restricted-xml."""
    c = after_tls(raw, restart=False)
    c.send(DOCTYPE + header(xml_decl=False))
    fails(c, witness, 'restricted-xml')


def test_doctype_after_sasl(raw, witness):
    """RFC 6120 11.1 and 4.9.3.18: the same DTD on the stream restarted
    after SASL success is restricted-xml."""
    c = after_sasl(raw, restart=False)
    c.send(DOCTYPE + header(xml_decl=False))
    fails(c, witness, 'restricted-xml')


def test_external_entity_in_header_not_resolved(raw, witness):
    """RFC 6120 11.1 and 13.12 (no external entities, XXE): an external
    entity naming a local file, used in the header's 'to', is refused with
    restricted-xml and the file's content never comes back."""
    c = raw()
    c.send(b"<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY xxe "
           b"SYSTEM 'file:///etc/passwd'>]><stream:stream to='&xxe;' "
           b"version='1.0' xmlns='jabber:client' "
           b"xmlns:stream='http://etherx.jabber.org/streams'>")
    fails(c, witness, 'restricted-xml')
    assert b'root:' not in c.received


def test_billion_laughs_refused_fast(raw, witness):
    """RFC 6120 11.1 and 13.12 (entity expansion): the classic nested entity
    bomb is refused at its DTD, within the normal timeout."""
    ents = b"<!ENTITY l0 'lol'>" + b''.join(
        b"<!ENTITY l%d '%s'>" % (i, b'&l%d;' % (i - 1) * 10)
        for i in range(1, 10))
    c = raw()
    c.send(b"<?xml version='1.0'?><!DOCTYPE stream:stream [" + ents +
           b"]><stream:stream to='&l9;' version='1.0' "
           b"xmlns='jabber:client' "
           b"xmlns:stream='http://etherx.jabber.org/streams'>")
    fails_with_one_of(c, witness, {'restricted-xml', 'policy-violation'})


def test_doctype_between_stanzas_after_bind(raw, witness):
    """RFC 6120 11.1 (and XML 1.0 section 2.8: a DTD only in the prolog): a
    <!DOCTYPE> between stanzas is restricted-xml or not-well-formed."""
    c = bound(raw)
    c.send(b"<!DOCTYPE x [<!ENTITY y 'z'>]>")
    fails_with_one_of(c, witness, {'restricted-xml', 'not-well-formed'})


@pytest.mark.parametrize('where', ['header-to', 'stanza-to', 'child-attr'])
def test_undefined_entity_in_attribute(raw, witness, where):
    """RFC 6120 11.1 (only the five predefined entities) and 4.9.3.13: an
    undefined entity reference in an attribute value, in the stream header
    or in a stanza, ends the stream (restricted-xml or not-well-formed)."""
    if where == 'header-to':
        c = raw()
        c.send(b"<?xml version='1.0'?><stream:stream to='&host;' "
               b"version='1.0' xmlns='jabber:client' "
               b"xmlns:stream='http://etherx.jabber.org/streams'>")
    else:
        c = bound(raw)
        if where == 'stanza-to':
            c.send("<message to='&bob;@localhost'><body>x</body></message>")
        else:
            c.send("<message to='bob@localhost'><x xmlns='urn:example:e' "
                   "a='&ext;'/></message>")
    fails_with_one_of(c, witness, {'restricted-xml', 'not-well-formed'})


def test_predefined_and_character_references_are_fine(raw, witness):
    """RFC 6120 11.1 allows the predefined entities and XML 1.0 character
    references: 'bob&#64;localhost/ref' is bob's full JID and '&amp;&lt;'
    in the body arrive as '&<'."""
    b = bound(raw, 'bob', resource='ref')
    a = bound(raw, 'alice')
    a.send("<message to='bob&#64;localhost/ref' id='cr1' type='chat'>"
           "<body>&amp;&lt;&#x263A;&apos;</body></message>")
    m = b.wait_for(lambda e: e.tag == MSG)
    assert m.get('id') == 'cr1'
    assert m.findtext(q(NS_CLIENT, 'body')) == '&<\u263a\''


def test_comment_after_starttls(raw, witness):
    """RFC 6120 11.1: a comment on the stream restarted after STARTTLS,
    before SASL, is restricted-xml."""
    c = after_tls(raw)
    c.send(b'<!-- after tls -->')
    fails(c, witness, 'restricted-xml')


def test_pi_after_sasl_before_bind(raw, witness):
    """RFC 6120 11.1: a processing instruction between stanzas on the stream
    restarted after SASL, before bind, is restricted-xml."""
    c = after_sasl(raw)
    c.send(b"<?evil data?>")
    fails(c, witness, 'restricted-xml')


def test_comment_between_stanzas_after_bind(raw, witness):
    """RFC 6120 11.1: a comment between two valid stanzas after bind; the
    first stanza is answered, then the stream ends with restricted-xml."""
    c = bound(raw)
    c.send("<iq type='get' id='before' to='%s'>%s</iq><!-- x -->" %
           (DOMAIN, PING))
    res = c.wait_for(lambda e: e.get('id') == 'before', 5, 'ping answer')
    assert res.get('type') == 'result', text_of(res)
    fails(c, witness, 'restricted-xml')


@pytest.mark.parametrize('prolog', [b'<!-- hello -->',
                                    b"<?xml-stylesheet href='x'?>"],
                         ids=['comment', 'pi'])
def test_comment_or_pi_in_prolog(raw, witness, prolog):
    """RFC 6120 11.1: comments and processing instructions are not allowed
    in the prolog either (between the XML declaration and the header)."""
    c = raw()
    c.send(b"<?xml version='1.0'?>" + prolog + header(xml_decl=False))
    fails(c, witness, 'restricted-xml')


def test_second_xml_declaration_midstream(raw, witness):
    """XML 1.0 section 2.8 and RFC 6120 11.1: an XML declaration between
    stanzas is a misplaced processing instruction: the stream ends
    (restricted-xml or not-well-formed)."""
    c = bound(raw)
    c.send(b"<?xml version='1.0'?>")
    fails_with_one_of(c, witness, {'restricted-xml', 'not-well-formed'})


# ---- encodings and characters (RFC 6120 11.3-11.6) -----------------------

@pytest.mark.parametrize('enc', ['ISO-8859-1', 'UTF-16', 'US-ASCII'])
def test_non_utf8_declaration_after_starttls(raw, witness, enc):
    """RFC 6120 11.6 and 4.9.3.22: an encoding other than UTF-8 declared on
    the stream restarted after STARTTLS is unsupported-encoding."""
    c = after_tls(raw, restart=False)
    c.send(("<?xml version='1.0' encoding='%s'?>" % enc).encode() +
           header(xml_decl=False))
    fails(c, witness, 'unsupported-encoding')


def test_utf16_bom_stream(raw, witness):
    """RFC 6120 11.6: a stream in UTF-16 (with a BOM) is refused; the
    condition is unsupported-encoding (or not-well-formed / bad-format)."""
    c = raw()
    c.send(b'\xff\xfe' + header().decode().encode('utf-16-le'))
    fails_with_one_of(c, witness, {'unsupported-encoding',
                                   'not-well-formed', 'bad-format'})


@pytest.mark.parametrize('seq', [b'\xc0\xaf', b'\xed\xa0\x80',
                                 b'\xe2\x82', b'\xf8\x88\x80\x80\x80',
                                 b'\xf4\x90\x80\x80', b'\xef\xbf\xbe'],
                         ids=['overlong', 'surrogate', 'truncated',
                              'five-byte', 'above-10ffff', 'u+fffe'])
@pytest.mark.parametrize('where', ['text', 'attribute', 'name'])
def test_malformed_utf8(raw, witness, seq, where):
    """RFC 6120 11.3 (UTF-8 per RFC 3629) and XML 1.0 section 2.2 (Char):
    ill-formed UTF-8 (overlong, surrogate, truncated, 5-byte, beyond
    U+10FFFF) or a non-character (U+FFFE) in text, in an attribute value or
    in an element name ends the stream (not-well-formed; bad-format is
    tolerated)."""
    c = bound(raw)
    if where == 'text':
        data = b"<message to='bob@localhost'><body>a" + seq + \
            b"b</body></message>"
    elif where == 'attribute':
        data = b"<message to='bob@localhost' id='x" + seq + \
            b"'><body>a</body></message>"
    else:
        data = b"<message to='bob@localhost'><b" + seq + \
            b" xmlns='urn:example:u'/></message>"
    c.send(data)
    fails_with_one_of(c, witness, UTF8_ERRORS)


def test_malformed_utf8_in_header(raw, witness):
    """RFC 6120 11.3 before any stream exists: ill-formed UTF-8 in the
    header's 'to' ends the connection with a stream error."""
    c = raw()
    c.send(b"<?xml version='1.0'?><stream:stream to='local\xc0\xafhost' "
           b"version='1.0' xmlns='jabber:client' "
           b"xmlns:stream='http://etherx.jabber.org/streams'>")
    fails_with_one_of(c, witness, UTF8_ERRORS | {'host-unknown'})


@pytest.mark.parametrize('data', [
    b"<message to='bob@localhost'><body>a\x01b</body></message>",
    b"<message to='bob@localhost' id='a\x01b'><body>x</body></message>",
    b"<message to='bob@localhost'><a\x01b xmlns='urn:example:c'/></message>",
    b"<message to='bob@localhost'><body>a&#x1;b</body></message>",
    b"<message to='bob@localhost' id='a&#1;b'><body>x</body></message>",
    b"<message to='bob@localhost'><body>&#0;</body></message>",
    b"<message to='bob@localhost'><body>&#xD800;</body></message>",
    b"<message to='bob@localhost'><body>&#xFFFF;</body></message>",
    b"<message to='bob@localhost'><body>&#x110000;</body></message>",
    b"<message to='bob@localhost'><body>a\x1bb</body></message>",
], ids=['ctl-text', 'ctl-attr', 'ctl-name', 'ref-x1-text', 'ref-1-attr',
        'ref-nul', 'ref-surrogate', 'ref-ffff', 'ref-beyond', 'esc-text'])
def test_control_characters(raw, witness, data):
    """XML 1.0 section 2.2 (Char excludes C0 controls other than tab, LF,
    CR, surrogates, U+FFFE/FFFF) and 4.1 (a character reference must match
    Char), with RFC 6120 11.3 / 4.9.3.13: raw controls in text, attribute
    values or names, and references to them, are not-well-formed."""
    c = bound(raw)
    c.send(data)
    fails_with_one_of(c, witness, UTF8_ERRORS)


def test_utf8_split_across_writes_is_fine(raw, witness):
    """RFC 6120 11.3: a multi-byte character split across two TLS records
    (two writes with a pause) is one character, not an error."""
    b = bound(raw, 'bob', resource='split')
    a = bound(raw, 'alice')
    nodelay(a)
    body = 'h\u00e9\u20ac\U0001f600'.encode()
    a.send(b"<message to='bob@localhost/split' id='sp1'><body>" +
           body[:2])
    time.sleep(0.1)
    a.send(body[2:5])
    time.sleep(0.1)
    a.send(body[5:] + b'</body></message>')
    m = b.wait_for(lambda e: e.tag == MSG)
    assert m.findtext(q(NS_CLIENT, 'body')) == body.decode()


# ---- namespaces (RFC 6120 4.8, 4.9.3.2, 4.9.3.10) ------------------------

def test_unbound_stream_prefix_in_header(raw, witness):
    """RFC 6120 4.9.3.2 and 4.8.5: a header using the stream: prefix without
    declaring it is bad-namespace-prefix."""
    c = raw()
    c.send(b"<?xml version='1.0'?><stream:stream to='localhost' "
           b"version='1.0' xmlns='jabber:client'>")
    fails(c, witness, 'bad-namespace-prefix')
    assert c.stream_attrs is not None, 'our header must come first (4.9.1.2)'


def test_unbound_attribute_prefix_in_header(raw, witness):
    """RFC 6120 4.9.3.2: an attribute with an undeclared prefix on the
    stream header is bad-namespace-prefix."""
    c = raw()
    c.send(header(extra=" foo:bar='1'"))
    fails(c, witness, 'bad-namespace-prefix')


def test_unbound_prefix_before_auth(raw, witness):
    """RFC 6120 4.9.3.2 before authentication: <sasl:auth/> with the prefix
    undeclared is bad-namespace-prefix, not an authentication attempt."""
    c = after_tls(raw)
    c.send("<sasl:auth mechanism='PLAIN'>%s</sasl:auth>" %
           base64.b64encode(b'\0alice\0' +
                            USERS['alice'].encode()).decode())
    fails(c, witness, 'bad-namespace-prefix')


def test_unbound_prefix_deep_inside_stanza(raw, witness):
    """RFC 6120 4.9.3.2: an undeclared prefix on an attribute five levels
    down a stanza still ends the stream."""
    c = bound(raw)
    c.send("<message to='bob@localhost'><x xmlns='urn:example:d'><a><b><c>"
           "<d p:q='1'/></c></b></a></x></message>")
    fails(c, witness, 'bad-namespace-prefix')


@pytest.mark.parametrize('decl', [" xmlns:p=''", " xmlns:xml='urn:x'",
                                  " xmlns:xmlns='urn:x'"],
                         ids=['undeclare', 'rebind-xml', 'bind-xmlns'])
def test_illegal_namespace_declarations(raw, witness, decl):
    """Namespaces in XML 1.0 sections 3 and 5 with RFC 6120 4.9.3.2:
    undeclaring a prefix, rebinding 'xml' or declaring 'xmlns' are errors
    (bad-namespace-prefix, or not-well-formed)."""
    c = bound(raw)
    c.send("<message to='bob@localhost'><x xmlns='urn:example:n'%s/>"
           "</message>" % decl)
    fails_with_one_of(c, witness, {'bad-namespace-prefix',
                                   'not-well-formed'})


def test_wrong_stream_namespace_after_sasl(raw, witness):
    """RFC 6120 4.8.1 and 4.9.3.10 on the stream restarted after SASL."""
    c = after_sasl(raw, restart=False)
    c.send(header(stream_ns='http://etherx.jabber.org/streams/wrong'))
    fails(c, witness, 'invalid-namespace')


@pytest.mark.parametrize('ns', ['jabber:server', 'jabber:component:accept'])
def test_wrong_default_namespace_after_sasl(raw, witness, ns):
    """RFC 6120 4.8.2 and 4.9.3.10: a content namespace other than
    jabber:client after SASL (a client trying to become a server or a
    component) is invalid-namespace."""
    c = after_sasl(raw, restart=False)
    c.send(header(ns=ns))
    fails(c, witness, 'invalid-namespace')


def test_missing_default_namespace(raw, witness):
    """RFC 6120 4.8.2: a header with no content namespace at all is
    invalid-namespace."""
    c = raw()
    c.send(header(ns=None))
    fails(c, witness, 'invalid-namespace')


def test_wrong_root_element_name(raw, witness):
    """RFC 6120 4.2 and 4.9.3.10: a root of the streams namespace other
    than <stream/> is refused (invalid-namespace or invalid-xml)."""
    c = raw()
    c.send(b"<?xml version='1.0'?><stream:flow to='localhost' version='1.0' "
           b"xmlns='jabber:client' "
           b"xmlns:stream='http://etherx.jabber.org/streams'>")
    fails_with_one_of(c, witness, {'invalid-namespace', 'invalid-xml'})


# ---- the stream's 'to' across restarts (RFC 6120 4.7.2, 5.4.3.3, 6.4.6) --

OTHER = 'other.test'


@pytest.fixture(scope='module')
def two_hosts(tmp_path_factory):
    """A server that hosts both localhost and other.test."""
    import magpie
    if not magpie.binaries_present():
        pytest.skip('magpied not built')
    srv = magpie.MagpieServer(tmp_path_factory.mktemp('twohosts'),
                              {'hosts': [{'domain': DOMAIN},
                                         {'domain': OTHER}]})
    srv.add_users()
    srv.start()
    yield srv
    srv.check_stopped_cleanly()


def test_to_changed_across_starttls(raw, two_hosts):
    """RFC 6120 4.7.2, 5.4.3.3 and 13.7: the stream restarted after
    STARTTLS must name the host whose certificate was negotiated; switching
    'to' to another hosted domain ends the stream (host-unknown here) and
    never offers SASL for the other host."""
    c = raw(server=two_hosts)
    c.open_stream()
    c.starttls(restart=False)
    c.send(header(to=OTHER))
    got = c.wait_for(lambda e: e.tag == q(NS_STREAM, 'error'), 5,
                     'a stream error')
    assert error_condition(got, NS_STREAMS) in ('host-unknown',
                                                'improper-addressing',
                                                'not-authorized',
                                                'policy-violation'), \
        text_of(got)
    c.expect_stream_end()
    ok = raw(server=two_hosts)
    ok.login('bob', USERS['bob'])


def test_to_changed_across_sasl(raw, two_hosts):
    """RFC 6120 6.4.6 and 4.7.2: after SASL as alice@localhost, a restarted
    stream to other.test must not yield a session at other.test."""
    c = raw(server=two_hosts)
    c.open_stream()
    c.starttls()
    assert c.auth_scram('SCRAM-SHA-256', 'alice',
                        USERS['alice']).tag == q(NS_SASL, 'success')
    c.restart_parser()
    c.send(header(to=OTHER))
    elem = c.next_element(allow_end=True)
    if elem is not None and elem.tag == q(NS_STREAM, 'features'):
        res = c.iq("<bind xmlns='%s'/>" % NS_BIND, 'set')
        jid = res.findtext('%s/%s' % (q(NS_BIND, 'bind'), q(NS_BIND, 'jid')))
        raise AssertionError('restart to %s accepted; bind gave %r' %
                             (OTHER, jid))
    assert elem is not None and elem.tag == q(NS_STREAM, 'error'), \
        c.describe()
    assert error_condition(elem, NS_STREAMS) in ('host-unknown',
                                                 'improper-addressing',
                                                 'not-authorized',
                                                 'policy-violation'), \
        text_of(elem)
    c.expect_stream_end()


# ---- unknown top-level elements (RFC 6120 4.9.3.23) ----------------------

@pytest.mark.parametrize('stage', ['before-tls', 'after-tls', 'after-sasl'])
def test_unknown_top_level_before_bind(raw, witness, stage):
    """RFC 6120 4.9.3.23: an unknown top-level element is
    unsupported-stanza-type at every stage before bind too."""
    if stage == 'before-tls':
        c = raw()
        c.open_stream()
    elif stage == 'after-tls':
        c = after_tls(raw)
    else:
        c = after_sasl(raw)
    c.send("<frob xmlns='urn:example:frob'/>")
    fails(c, witness, 'unsupported-stanza-type')


def test_dialback_element_on_client_stream(raw, witness):
    """RFC 6120 4.9.3.23 (and XEP-0220, a server-to-server protocol): a
    dialback <db:result/> on a client stream is unsupported-stanza-type."""
    c = bound(raw)
    c.send("<db:result xmlns:db='jabber:server:dialback' from='evil.test' "
           "to='localhost'>abc</db:result>")
    fails(c, witness, 'unsupported-stanza-type')


def test_auth_after_bind_does_not_reauthenticate(raw, witness):
    """RFC 6120 6.4.6 / 6.4.7 (SASL is done once per stream; a client may
    not switch identity): <auth/> as bob on alice's bound stream does not
    succeed; the stream is ended or the auth refused, and alice stays
    alice."""
    c = bound(raw)
    c._auth_send('PLAIN', ('\0bob\0%s' % USERS['bob']).encode())
    elem = c.next_element(allow_end=True)
    assert elem is None or elem.tag != q(NS_SASL, 'success'), text_of(elem)
    if elem is not None and elem.tag == q(NS_STREAM, 'error'):
        c.expect_stream_end()
    elif elem is not None:
        assert elem.tag == q(NS_SASL, 'failure'), text_of(elem)
        res = c.iq("<query xmlns='jabber:iq:version'/>", to=DOMAIN)
        assert res.get('to', '').startswith('alice@'), text_of(res)
    serving(witness)


# ---- size and count limits (RFC 6120 13.12) ------------------------------

def test_10000_attributes_after_bind(raw, witness):
    """RFC 6120 13.12: one element with 10 000 attributes (about 120 KiB,
    under the stanza limit) is processed without stalling the server: the
    iq is answered and the witness is served."""
    c = bound(raw)
    attrs = ' '.join("a%d='%d'" % (i, i) for i in range(10000))
    start = time.monotonic()
    c.send("<iq type='get' id='a10k' to='%s'><ping xmlns='urn:xmpp:ping' "
           "%s/></iq>" % (DOMAIN, attrs))
    res = c.wait_for(lambda e: e.get('id') == 'a10k', 10)
    assert res.get('type') in ('result', 'error'), text_of(res)
    assert time.monotonic() - start < 5
    serving(witness)


def test_10000_attributes_with_duplicate(raw, witness):
    """XML 1.0 section 3.1 (unique attributes) and RFC 6120 4.9.3.13: a
    duplicate hidden at the end of 10 000 attributes is still found:
    not-well-formed."""
    c = bound(raw)
    attrs = ' '.join("a%d='%d'" % (i, i) for i in range(10000))
    c.send("<message to='bob@localhost'><x xmlns='urn:example:a' %s "
           "a17='again'/></message>" % attrs)
    fails(c, witness, 'not-well-formed', timeout=10)


def test_10000_attributes_in_header(raw, witness):
    """RFC 6120 13.12 before authentication: a header with 10 000
    attributes passes the pre-auth size limit (10 KiB) and gets
    policy-violation."""
    c = raw()
    attrs = ' '.join("a%d='%d'" % (i, i) for i in range(10000))
    c.try_send(header(extra=' ' + attrs))
    fails(c, witness, 'policy-violation')


def test_1mib_attribute_fed_slowly(raw, witness):
    """RFC 6120 13.12 and 4.9.3.14, XEP-0205: a 1 MiB attribute value sent
    a byte per write for its first KiB (Nagle off), then in chunks. Once the
    stanza passes the limit (256 KiB) the server answers policy-violation
    with <stanza-too-big/> at once: the client stops sending 1 KiB past the
    limit and the error must come without more bytes (it never sees the
    closing quote)."""
    c = bound(raw)
    nodelay(c)
    head = ("<message to='bob@%s' id='huge'><x xmlns='urn:example:big' a='"
            % DOMAIN).encode()
    data = head + b'A' * (MAX_STANZA + 1024 - len(head))
    trickle(c, data)
    start = time.monotonic()
    err = fails(c, witness, 'policy-violation', timeout=3)
    assert err.find(q(NS_ERRORS, 'stanza-too-big')) is not None, \
        text_of(err)
    assert time.monotonic() - start < 3
    # The remaining 3/4 MiB has nowhere to go.
    rest = b'A' * (1024 * 1024 - len(data)) + b"'/></message>"
    assert not c.try_send(rest) or not c.is_open(0.2)


def test_200kib_attribute_delivered_when_complete(raw, witness):
    """RFC 6120 13.12 (limits by size, not by speed): a 200 KiB attribute
    under the limit, fed a byte per write for its first KiB, is held until
    the stanza is complete and delivered promptly (within 1 s) once its
    last '>' arrives."""
    b = bound(raw, 'bob', resource='big')
    a = bound(raw, 'alice')
    nodelay(a)
    value = b'V' * (200 * 1024)
    data = (b"<message to='bob@localhost/big' id='b200' type='chat'>"
            b"<body>big</body><x xmlns='urn:example:big' a='" + value +
            b"'/></message")
    trickle(a, data)
    b.no_element(0.5)
    start = time.monotonic()
    a.send(b'>')
    # Python's incremental expat (2.5 with reparse deferral) holds back a
    # huge token until much more data comes, so the message is found in the
    # raw bytes and parsed on its own.
    found = b.read_until(rb'<message[^>]*>.*?</message>', 5)
    elapsed = time.monotonic() - start
    m = ET.fromstring(b"<w xmlns='jabber:client'>" + found.group(0) +
                      b'</w>')[0]
    assert m.tag == MSG
    assert m.get('id') == 'b200', text_of(m)[:300]
    x = m.find(q('urn:example:big', 'x'))
    assert x is not None and len(x.get('a')) == len(value)
    assert elapsed < 1.0, elapsed
    serving(witness)


# ---- malformed stanzas (RFC 6120 8.2.3, 8.3) -----------------------------

def error_reply(c, pred, what):
    e = c.wait_for(lambda x: pred(x) and x.get('type') == 'error', 5, what)
    return error_condition(e)


def test_iq_without_id(raw, witness):
    """RFC 6120 8.2.3: an iq get without 'id' is answered with
    <bad-request/> (its reply has no id to echo); the stream goes on."""
    c = bound(raw)
    c.send("<iq type='get' to='%s'>%s</iq>" % (DOMAIN, PING))
    assert error_reply(c, lambda e: e.tag == IQ and e.get('id') is None,
                       'iq error without id') == 'bad-request'
    assert sync(c) == []


@pytest.mark.parametrize('type_', ['fetch', '', None], ids=['fetch', 'empty',
                                                            'missing'])
def test_iq_bad_type(raw, witness, type_):
    """RFC 6120 8.2.3: 'type' is required and one of get, set, result,
    error; anything else is <bad-request/>."""
    c = bound(raw)
    t = " type='%s'" % type_ if type_ is not None else ''
    c.send("<iq%s id='bt1' to='%s'>%s</iq>" % (t, DOMAIN, PING))
    assert error_reply(c, lambda e: e.get('id') == 'bt1',
                       'error for bt1') == 'bad-request'
    assert sync(c) == []


@pytest.mark.parametrize('body', ['', PING + "<x xmlns='urn:example:two'/>"],
                         ids=['no-child', 'two-children'])
@pytest.mark.parametrize('type_', ['get', 'set'])
def test_iq_child_count(raw, witness, body, type_):
    """RFC 6120 8.2.3: an iq get or set must contain exactly one payload
    element; zero or two are <bad-request/>."""
    c = bound(raw)
    c.send("<iq type='%s' id='cc1' to='%s'>%s</iq>" % (type_, DOMAIN, body))
    assert error_reply(c, lambda e: e.get('id') == 'cc1',
                       'error for cc1') == 'bad-request'
    assert sync(c) == []


def test_error_stanzas_to_nonexistent_users_get_no_reply(raw, witness):
    """RFC 6120 8.3.1 (never answer an error with an error), 8.2.3 (never
    answer a result or error iq) and RFC 6121 8.5.1: error and result
    stanzas to unknown users, unknown resources and malformed JIDs are
    dropped without a word."""
    c = bound(raw)
    err = ("<error type='cancel'><item-not-found xmlns='%s'/></error>" %
           NS_STANZAS)
    for to in ('nobody@localhost', 'nobody@localhost/r', 'bob@localhost/gone',
               '@localhost', 'bad@@localhost'):
        c.send("<message type='error' to='%s' id='e1'>%s</message>" %
               (to, err))
        c.send("<iq type='error' to='%s' id='e2'>%s</iq>" % (to, err))
        c.send("<iq type='result' to='%s' id='e3'/>" % to)
        c.send("<presence type='error' to='%s'>%s</presence>" % (to, err))
    got = sync(c)
    assert got == [], ['%s id=%s type=%s %s' % (e.tag, e.get('id'),
                                                 e.get('type'),
                                                 error_condition(e))
                       for e in got]


# ---- invalid JIDs (RFC 7622, RFC 6120 8.3.3.8) ---------------------------

@pytest.mark.parametrize('to', [
    '@localhost', 'bob@', 'bob@localhost/', '/res', 'bob@@localhost',
    'a' * 1024 + '@localhost', 'bob@' + 'h' * 1024,
    'bob@localhost/' + 'r' * 1024, 'bob@local host', 'bob\uff20localhost',
    'bob@localhost\uff0fres',
], ids=['empty-local', 'empty-domain', 'empty-resource', 'only-resource',
        'double-at', 'long-local', 'long-domain', 'long-resource',
        'space-in-domain', 'fullwidth-at', 'fullwidth-slash'])
def test_invalid_jid_in_to(raw, witness, to):
    """RFC 7622 3.1-3.4 and RFC 6120 8.3.3.8: an empty part, a part over
    1023 bytes, a second '@', a space in the domain, or a fullwidth '@' /
    '/' (not a separator: RFC 7622 3.1 splits at U+0040 and U+002F only, so
    'bob\uff20localhost' is a domainpart, and an invalid one) in 'to' gets
    <jid-malformed/>; the message is not delivered to bob."""
    b = bound(raw, 'bob', resource='jidtest')
    c = bound(raw)
    c.send("<message to='%s' id='j1' type='chat'><body>x</body></message>"
           % to.replace('&', '&amp;').replace("'", '&apos;'))
    cond = error_reply(c, lambda e: e.get('id') == 'j1', 'error for j1')
    assert cond == 'jid-malformed', cond
    assert [e for e in sync(b) if e.tag == MSG] == []


def test_bind_resource_1023_bytes_accepted(raw, witness):
    """RFC 7622 3.1: a resourcepart of exactly 1023 bytes is allowed (the
    existing bind test checks that 1024 is refused)."""
    c = raw()
    c.login('alice', USERS['alice'], bind=False)
    res = 'r' * 1023
    assert c.bind(res) == 'alice@%s/%s' % (DOMAIN, res)


def test_bind_resource_over_1023_bytes_multibyte(raw, witness):
    """RFC 7622 3.1: the limit is in bytes, not characters: 342 three-byte
    characters (1026 bytes) are refused (or replaced, RFC 6120 7.7.1)."""
    c = raw()
    c.login('alice', USERS['alice'], bind=False)
    res = '\u20ac' * 342
    r = c.iq("<bind xmlns='%s'><resource>%s</resource></bind>" %
             (NS_BIND, res), 'set')
    if r.get('type') == 'result':
        jid = r.findtext('%s/%s' % (q(NS_BIND, 'bind'), q(NS_BIND, 'jid')))
        assert jid.split('/', 1)[1] != res, jid
    else:
        assert error_condition(r) in ('bad-request', 'not-acceptable',
                                      'jid-malformed'), text_of(r)


def test_bind_resource_fullwidth_kept(raw, witness):
    """RFC 7622 3.4 with RFC 8265 4.2.1 (OpaqueString applies no width
    mapping): a resource with fullwidth letters and a fullwidth '@' is
    bound exactly as sent."""
    c = raw()
    c.login('alice', USERS['alice'], bind=False)
    res = '\uff21\uff4c\uff20\uff58'
    assert c.bind(res) == 'alice@%s/%s' % (DOMAIN, res)


@pytest.mark.parametrize('res', ['\u2028', 'a\u202eb', '\u0007'],
                         ids=['line-separator', 'bidi-override', 'bel-ref'])
def test_bind_resource_disallowed_characters(raw, witness, res):
    """RFC 7622 3.4 (FreeformClass, RFC 8264 9.11-9.12: controls and
    unassigned/other code points are disallowed): such a resource is
    refused with bad-request (or jid-malformed / not-acceptable), or
    replaced; a BEL by reference is not even XML (not-well-formed)."""
    c = raw()
    c.login('alice', USERS['alice'], bind=False)
    if res == '\u0007':
        c.send("<iq type='set' id='bb'><bind xmlns='%s'><resource>&#7;"
               "</resource></bind></iq>" % NS_BIND)
        fails_with_one_of(c, witness, UTF8_ERRORS)
        return
    r = c.iq("<bind xmlns='%s'><resource>%s</resource></bind>" %
             (NS_BIND, res), 'set')
    if r.get('type') == 'result':
        jid = r.findtext('%s/%s' % (q(NS_BIND, 'bind'), q(NS_BIND, 'jid')))
        assert jid.split('/', 1)[1] != res, jid
    else:
        assert error_condition(r) in ('bad-request', 'not-acceptable',
                                      'jid-malformed'), text_of(r)


# ---- SASL attacks (RFC 5802, RFC 6120 6) ---------------------------------

def sasl_failure(elem):
    assert elem.tag == q(NS_SASL, 'failure'), text_of(elem)
    return [ch.tag.split('}', 1)[1] for ch in elem
            if ch.tag != q(NS_SASL, 'text')]


def scram_exchange(c, client, tamper=None):
    """Runs a SCRAM exchange; tamper(final) may change the client-final
    message. Returns (server_first, client_final, answer element)."""
    c._auth_send(client_mech(client), client.client_first())
    ch = c.expect(q(NS_SASL, 'challenge'))
    server_first = base64.b64decode(ch.text)
    final = client.client_final(server_first)
    if tamper is not None:
        final = tamper(final)
    c.send("<response xmlns='%s'>%s</response>" %
           (NS_SASL, base64.b64encode(final).decode()))
    return server_first, final, c.next_element()


def client_mech(client):
    return {'sha1': 'SCRAM-SHA-1', 'sha256': 'SCRAM-SHA-256',
            'sha512': 'SCRAM-SHA-512'}[client.hash]


def test_scram_wrong_proof(raw, witness):
    """RFC 5802 section 5.1 (p= proves the client key): the right password
    with one bit of the proof flipped is not-authorized."""
    c = after_tls(raw)

    def flip(final):
        head, proof = final.rsplit(b',p=', 1)
        raw_proof = bytearray(base64.b64decode(proof))
        raw_proof[0] ^= 1
        return head + b',p=' + base64.b64encode(bytes(raw_proof))
    client = scram.ScramClient('SCRAM-SHA-256', 'alice', USERS['alice'])
    _, _, res = scram_exchange(c, client, flip)
    assert sasl_failure(res) == ['not-authorized']


def test_scram_replayed_nonce(raw, witness):
    """RFC 5802 section 9 (replay protection by the server nonce): a
    successful exchange's client-final, replayed on a new connection that
    starts with the same client nonce, fails, and the server's nonce
    differs between the two connections."""
    c1 = after_tls(raw)
    nonce = 'fixed-client-nonce-0123456789'
    cl1 = scram.ScramClient('SCRAM-SHA-256', 'alice', USERS['alice'],
                            nonce=nonce)
    sf1, final1, res = scram_exchange(c1, cl1)
    assert res.tag == q(NS_SASL, 'success'), text_of(res)
    c2 = after_tls(raw)
    cl2 = scram.ScramClient('SCRAM-SHA-256', 'alice', USERS['alice'],
                            nonce=nonce)
    sf2, _, res2 = scram_exchange(c2, cl2, lambda final: final1)
    assert scram.parse_attrs(sf1)['r'] != \
        scram.parse_attrs(sf2)['r']
    assert sasl_failure(res2), text_of(res2)
    serving(witness)


def test_scram_response_without_auth(raw, witness):
    """RFC 6120 6.4.2 and 6.4.5: a <response/> (a replayed client-final)
    with no exchange in progress never authenticates: a SASL failure or a
    stream error."""
    c = after_tls(raw)
    final = b'c=biws,r=abc,p=' + base64.b64encode(b'\0' * 32)
    c.send("<response xmlns='%s'>%s</response>" %
           (NS_SASL, base64.b64encode(final).decode()))
    elem = c.next_element(allow_end=True)
    assert elem is None or elem.tag in (q(NS_SASL, 'failure'),
                                        q(NS_STREAM, 'error')), text_of(elem)
    serving(witness)


def test_scram_gs2_header_mismatch(raw, witness):
    """RFC 5802 sections 5.1 and 6: c= in the client-final must carry the
    GS2 header of the client-first; a client-first with 'y' and a
    client-final claiming 'n' (a downgrade an attacker might splice) fails.
    The 'y' flag alone is already refused when -PLUS is offered (see
    test_rfc6120_sasl)."""
    c = after_tls(raw)
    client = scram.ScramClient('SCRAM-SHA-256', 'alice', USERS['alice'])

    def splice(final):
        return final.replace(b'c=' + base64.b64encode(b'n,,'),
                             b'c=' + base64.b64encode(b'y,,'))
    _, _, res = scram_exchange(c, client, splice)
    assert res.tag == q(NS_SASL, 'failure'), text_of(res)


def test_y_flag_refused_on_direct_tls(raw, witness):
    """RFC 5802 section 6 on the direct-TLS port (XEP-0368): 'y' while
    -PLUS is offered is a downgrade and fails."""
    c = raw(direct_tls=True)
    c.open_stream()
    assert any(m.endswith('-PLUS') for m in c.mechanisms())
    res = c.auth_scram('SCRAM-SHA-512', 'alice', USERS['alice'],
                       cb_flag='y', verify=False)
    assert res.tag == q(NS_SASL, 'failure'), text_of(res)


def test_plain_in_clear_refused_without_required_tls(server_factory, raw):
    """RFC 4616 section 4 and RFC 6120 13.8: with tls.required = false,
    PLAIN is still neither offered nor accepted without TLS (it would send
    the password in the clear)."""
    srv = server_factory({'tls': {'required': False}})
    c = raw(server=srv)
    c.open_stream()
    assert 'PLAIN' not in c.mechanisms(), c.mechanisms()
    c._auth_send('PLAIN', ('\0alice\0%s' % USERS['alice']).encode())
    elem = c.next_element(allow_end=True)
    assert elem is None or elem.tag != q(NS_SASL, 'success'), text_of(elem)
    if elem is not None and elem.tag == q(NS_SASL, 'failure'):
        conds = sasl_failure(elem)
        assert conds[0] in ('encryption-required', 'mechanism-too-weak',
                            'invalid-mechanism'), conds
    ok = raw(server=srv)
    ok.login('bob', USERS['bob'])


# ---- old TLS (RFC 8996, RFC 7590) -----------------------------------------

def client_hello_supported_versions(versions):
    """A TLS 1.2-looking ClientHello whose supported_versions extension
    lists only the given (old) versions: a 1.3-aware server must go by the
    extension (RFC 8446 4.2.1) and refuse."""
    hello = bytearray(legacy_client_hello(0x0303))
    sv = struct.pack('!B', 2 * len(versions)) + \
        b''.join(struct.pack('!H', v) for v in versions)
    ext = struct.pack('!HH', 0x002b, len(sv)) + sv
    body = bytes(hello[9:])
    # Offsets: record header 5, handshake header 4; the extensions block
    # is last, prefixed by its 2-byte length.
    sid_len = body[34]
    pos = 35 + sid_len
    cs_len = struct.unpack('!H', body[pos:pos + 2])[0]
    pos += 2 + cs_len
    pos += 1 + body[pos]
    ext_len = struct.unpack('!H', body[pos:pos + 2])[0]
    body = body[:pos] + struct.pack('!H', ext_len + len(ext)) + \
        body[pos + 2:] + ext
    hs = b'\x01' + struct.pack('!I', len(body))[1:] + body
    return b'\x16' + struct.pack('!HH', 0x0301, len(hs)) + hs


@pytest.mark.parametrize('hello', ['ssl3', 'sv-1.1-1.0'])
@pytest.mark.parametrize('port_kind', ['starttls', 'direct'])
def test_old_tls_hellos_refused(raw, witness, hello, port_kind):
    """RFC 8996 and RFC 7568 (no SSL 3.0), RFC 8446 4.2.1: an SSL 3.0
    ClientHello, or one whose supported_versions offers only TLS 1.1 and
    1.0, gets an alert or a close, never a ServerHello; the server keeps
    serving."""
    data = legacy_client_hello(0x0300) if hello == 'ssl3' else \
        client_hello_supported_versions([0x0302, 0x0301])
    if port_kind == 'starttls':
        c = raw()
        c.open_stream()
        c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        c.expect(q('urn:ietf:params:xml:ns:xmpp-tls', 'proceed'))
        sock = c.sock
    else:
        sock = socket.create_connection((HOST, raw.server.tls_port),
                                        timeout=5)
    try:
        sock.sendall(data)
        answer = read_tls_answer(sock)
    finally:
        sock.close()
    assert answer[0] in ('alert', 'closed'), answer
    serving(witness)


# ---- stream management out of place (XEP-0198) ---------------------------

def test_sm_enable_before_bind(raw, witness):
    """XEP-0198 section 3 (enable only after binding: <failed/> with
    <unexpected-request/>) or, on a server without XEP-0198,
    RFC 6120 4.9.3.23 (unsupported-stanza-type). Either answer is
    accepted; a <failed/> must leave the stream usable for bind."""
    c = after_sasl(raw)
    c.send("<enable xmlns='%s'/>" % NS_SM)
    elem = c.next_element()
    if elem.tag == q(NS_STREAM, 'error'):
        assert error_condition(elem, NS_STREAMS) == \
            'unsupported-stanza-type', text_of(elem)
        c.expect_stream_end()
    else:
        assert elem.tag == q(NS_SM, 'failed'), text_of(elem)
        assert c.bind()
    serving(witness)


def test_sm_ack_larger_than_sent(raw, witness):
    """XEP-0198 section 4 (an 'h' above what was sent is
    <undefined-condition/> with <handled-count-too-high/>) when SM is
    enabled; without XEP-0198, RFC 6120 4.9.3.23: <a/> is
    unsupported-stanza-type. Either is accepted."""
    c = bound(raw)
    c.send("<enable xmlns='%s'/>" % NS_SM)
    elem = c.next_element()
    if elem.tag == q(NS_STREAM, 'error'):
        assert error_condition(elem, NS_STREAMS) == \
            'unsupported-stanza-type', text_of(elem)
        c.expect_stream_end()
        c = bound(raw)
        c.send("<a xmlns='%s' h='1000'/>" % NS_SM)
        fails(c, witness, 'unsupported-stanza-type')
        return
    assert elem.tag == q(NS_SM, 'enabled'), text_of(elem)
    c.send("<a xmlns='%s' h='1000'/>" % NS_SM)
    err = fails(c, witness, 'undefined-condition')
    assert err.find(q(NS_SM, 'handled-count-too-high')) is not None, \
        text_of(err)


# ---- stanzas before bind (RFC 6120 7.1) ----------------------------------

@pytest.mark.parametrize('stanza', [
    "<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
    "<presence/>",
    "<iq type='set' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
], ids=['ping', 'presence', 'roster-set'])
def test_stanza_before_bind(raw, witness, stanza):
    """RFC 6120 7.1: before binding, only the bind request is processed;
    other stanzas end the stream with not-authorized (or get a stanza
    error), and are never routed."""
    c = after_sasl(raw)
    c.send(stanza)
    elem = c.next_element(allow_end=True)
    assert elem is not None, c.describe()
    if elem.tag == q(NS_STREAM, 'error'):
        assert error_condition(elem, NS_STREAMS) == 'not-authorized', \
            text_of(elem)
        c.expect_stream_end()
    else:
        assert elem.get('type') == 'error', text_of(elem)
    serving(witness)


# ---- what one client sends must not break another's stream ---------------

def test_xml_namespace_elements_reach_the_recipient(raw):
    """Namespaces in XML 1.0 section 3: elements in the XML namespace are
    written with the xml prefix, which is never declared; written as
    xmlns='http://www.w3.org/XML/1998/namespace' they would make the
    recipient's parser fail and end its stream."""
    a = raw.logged_in('alice', resource='xmlns-a')
    b = raw.logged_in('bob', resource='xmlns-b')
    a.send("<message to='%s' id='x1'><body>hi</body><xml:odd "
           "xml:space='preserve'><c/></xml:odd></message>" % b.jid)
    m = b.wait_for(lambda e: e.get('id') == 'x1')
    odd = m.find(q('http://www.w3.org/XML/1998/namespace', 'odd'))
    assert odd is not None, text_of(m)
    assert odd.find(q(NS_CLIENT, 'c')) is not None, text_of(m)
    # Bob's stream is still fine.
    assert b.iq(PING, to=DOMAIN).get('type') == 'result'


def test_server_survived_everything(raw, server):
    """RFC 6120 13.12: after all of the above the server still runs, and a
    fresh client logs in and gets answers."""
    assert server.running(), server.log_tail()
    c = raw.logged_in('bob')
    assert c.iq(PING, to=DOMAIN).get('type') == 'result'
