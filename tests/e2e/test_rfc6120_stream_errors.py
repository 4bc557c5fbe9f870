"""RFC 6120 section 4.9: each stream error condition the server detects,
provoked over a raw socket; every one must be followed by </stream:stream>
and a closed connection (4.9.1.1), with the server's own header first when
the error comes before the client's header was accepted (4.9.1.2)."""

import time

import pytest

from magpie import DOMAIN, USERS
from rawxmpp import NS_STREAM, NS_STREAMS, error_condition, header, q, \
    text_of

NS_ERRORS = 'urn:xmpp:errors'


def bound(raw, user='alice', resource=None):
    return raw.logged_in(user, resource=resource)


def after_tls(raw):
    c = raw()
    c.open_stream()
    c.starttls()
    return c


# ---- header problems (4.9.1.3: the server opens its stream first) ------

def test_invalid_namespace_stream_ns(raw):
    """RFC 6120 4.9.3.10 and 4.8.1: a stream namespace other than
    http://etherx.jabber.org/streams is invalid-namespace."""
    c = raw()
    c.send(header(stream_ns='http://example.com/not-streams'))
    c.expect_stream_error('invalid-namespace')
    assert c.stream_attrs is not None, 'server must send its header first'


@pytest.mark.parametrize('ns', ['urn:example:wrong', 'jabber:server'])
def test_invalid_namespace_content_ns(raw, ns):
    """RFC 6120 4.9.3.10 and 4.8.2: a default namespace other than
    jabber:client on a c2s stream is invalid-namespace."""
    c = raw()
    c.send(header(ns=ns))
    c.expect_stream_error('invalid-namespace')


def test_invalid_namespace_after_tls(raw):
    """RFC 6120 4.9.3.10 on a restarted stream."""
    c = raw()
    c.open_stream()
    c.starttls(restart=False)
    c.send(header(ns='urn:example:wrong'))
    c.expect_stream_error('invalid-namespace')


@pytest.mark.parametrize('to', ['example.org', 'localhost.example'])
def test_host_unknown(raw, to):
    """RFC 6120 4.9.3.6: a 'to' naming a host we do not serve."""
    c = raw()
    c.send(header(to=to))
    c.expect_stream_error('host-unknown')


def test_improper_addressing(raw):
    """RFC 6120 4.9.3.7 and 4.7.2: a client stream header without 'to'."""
    c = raw()
    c.send(header(to=None))
    c.expect_stream_error('improper-addressing')


def test_unsupported_encoding(raw):
    """RFC 6120 4.9.3.22 and 11.6: an XML declaration naming an encoding
    other than UTF-8."""
    c = raw()
    c.send(b"<?xml version='1.0' encoding='ISO-8859-1'?>" +
           header(xml_decl=False))
    c.expect_stream_error('unsupported-encoding')


@pytest.mark.parametrize('decl', [b"<?xml version='1.0' encoding='UTF-8'?>",
                                  b'<?xml version="1.0" encoding="utf-8"?>',
                                  b''])
def test_utf8_declarations_accepted(raw, decl):
    """RFC 6120 11.5 and 11.6: an explicit UTF-8 declaration, or none."""
    c = raw()
    c.send(decl + header(xml_decl=False))
    c.wait_header()
    c.expect(q(NS_STREAM, 'features'))


def test_doctype_is_restricted_xml(raw):
    """RFC 6120 4.9.3.18 and 11.1: a DTD (here before the header) is
    restricted-xml."""
    c = raw()
    c.send(b"<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x "
           b"'boom'>]>" + header(xml_decl=False))
    c.expect_stream_error('restricted-xml')


# ---- pre-auth stanza rules ---------------------------------------------

def test_stanza_before_auth_is_not_authorized(raw):
    """RFC 6120 4.9.3.12 and 6.4.1: a stanza on a TLS stream before SASL."""
    c = after_tls(raw)
    c.send("<message to='bob@%s' type='chat'><body>hi</body></message>" %
           DOMAIN)
    c.expect_stream_error('not-authorized')


def test_iq_before_auth_is_not_authorized(raw):
    """RFC 6120 4.9.3.12: an iq before SASL, even to the server."""
    c = after_tls(raw)
    c.send("<iq type='get' id='p' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
           % DOMAIN)
    c.expect_stream_error('not-authorized')


def test_preauth_stanza_too_big(raw):
    """RFC 6120 4.9.3.14 and 13.12, XEP-0205: an element over the pre-auth
    limit (10 KiB) is policy-violation with <stanza-too-big/>."""
    c = after_tls(raw)
    c.try_send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
               "mechanism='PLAIN'>" + 'QUFB' * 5000 + '</auth>')
    err = c.expect_stream_error('policy-violation')
    assert err.find(q(NS_ERRORS, 'stanza-too-big')) is not None, \
        text_of(err)


def test_preauth_limit_applies_before_tls(raw):
    """RFC 6120 13.12 item 4: the pre-auth size limit also guards the
    unencrypted stream."""
    c = raw()
    c.open_stream()
    c.try_send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><x>" +
               'y' * 20000 + '</x></starttls>')
    c.expect_stream_error('policy-violation')


# ---- XML problems --------------------------------------------------------

@pytest.mark.parametrize('junk', [
    b"<message><body>x</message>",
    b"<<<>>>",
    b"<message to='bob@localhost' to='bob@localhost'/>",
    b"<message>&undefined;</message>",
    b"<message><body>\xff\xfe</body></message>",
], ids=['mismatched-tag', 'garbage', 'duplicate-attr', 'undefined-entity',
        'bad-utf8'])
def test_not_well_formed(raw, junk):
    """RFC 6120 4.9.3.13 and 11.3: XML that is not well-formed (mismatched
    tags, duplicate attributes, undefined entities, invalid UTF-8)."""
    c = bound(raw)
    c.send(junk)
    err = c.wait_for(lambda e: e.tag == q(NS_STREAM, 'error'))
    cond = error_condition(err, NS_STREAMS)
    allowed = {'not-well-formed'}
    if junk == b"<message>&undefined;</message>":
        allowed.add('restricted-xml')
    if b'\xff' in junk:
        allowed.add('bad-format')
    assert cond in allowed, text_of(err)
    c.expect_stream_end()


def test_not_well_formed_before_auth(raw):
    """RFC 6120 4.9.3.13 on an unauthenticated stream."""
    c = raw()
    c.open_stream()
    c.send(b'</notopen>')
    c.expect_stream_error('not-well-formed')


@pytest.mark.parametrize('xml', [
    b'<!-- a comment -->',
    b"<?magpie please-crash?>",
    b"<message to='bob@localhost'><!-- inside --><body>x</body></message>",
], ids=['comment', 'processing-instruction', 'comment-in-stanza'])
def test_restricted_xml(raw, xml):
    """RFC 6120 4.9.3.18 and 11.1: comments and processing instructions are
    not allowed in XMPP."""
    c = bound(raw)
    c.send(xml)
    c.expect_stream_error('restricted-xml')


def test_restricted_xml_before_auth(raw):
    """RFC 6120 11.1 on an unauthenticated stream."""
    c = raw()
    c.open_stream()
    c.send(b'<!-- hello -->')
    c.expect_stream_error('restricted-xml')


@pytest.mark.parametrize('xml', [
    "<foo xmlns='jabber:client'/>",
    "<query xmlns='jabber:iq:roster'/>",
    "<message xmlns='urn:example:not-client' to='bob@localhost'/>",
], ids=['unknown-element', 'payload-at-top', 'stanza-name-wrong-ns'])
def test_unsupported_stanza_type(raw, xml):
    """RFC 6120 4.9.3.23: a top-level element that is not a stanza (or a
    known stream-level element) of the stream's namespaces."""
    c = bound(raw)
    c.send(xml)
    c.expect_stream_error('unsupported-stanza-type')


@pytest.mark.parametrize('xml', [
    "<foo:message to='bob@localhost'><body>x</body></foo:message>",
    "<message to='bob@localhost'><bar:body>x</bar:body></message>",
    "<message to='bob@localhost' baz:attr='1'><body>x</body></message>",
], ids=['stanza', 'child', 'attribute'])
def test_bad_namespace_prefix(raw, xml):
    """RFC 6120 4.9.3.2: a prefix with no namespace bound to it."""
    c = bound(raw)
    c.send(xml)
    c.expect_stream_error('bad-namespace-prefix')


# ---- limits after auth ---------------------------------------------------

def test_stanza_over_limit_after_auth(raw):
    """RFC 6120 4.9.3.14 and 13.12, XEP-0205: a stanza over the post-auth
    limit (256 KiB configured) is policy-violation with <stanza-too-big/>;
    sent as 300 KiB."""
    c = bound(raw)
    c.try_send("<message to='bob@%s'><body>" % DOMAIN + 'x' * (300 * 1024) +
               "</body></message>")
    err = c.expect_stream_error('policy-violation', timeout=10)
    assert err.find(q(NS_ERRORS, 'stanza-too-big')) is not None, \
        text_of(err)


def test_2mib_stanza_after_auth(raw):
    """RFC 6120 13.12: a 2 MiB stanza is refused early with policy-violation
    and <stanza-too-big/> (the server stops reading and closes; it must not
    buffer it all or hang). The client reads while it sends."""
    c = bound(raw)
    chunks = ["<message to='bob@%s'><body>" % DOMAIN] + \
        ['x' * 16384] * 128 + ['</body></message>']
    sent = c.flood(chunks)
    err = c.expect_stream_error('policy-violation', timeout=10)
    assert err.find(q(NS_ERRORS, 'stanza-too-big')) is not None, \
        text_of(err)
    assert sent < len(chunks), 'the server read all 2 MiB before refusing'


def test_1000_deep_nesting(raw):
    """RFC 6120 13.12 (resource exhaustion): 1000 nested elements exceed the
    depth limit (64) and get policy-violation."""
    c = bound(raw)
    c.try_send("<message to='bob@%s'>" % DOMAIN + '<a>' * 1000 +
               '</a>' * 1000 + '</message>')
    c.expect_stream_error('policy-violation')


def test_moderate_nesting_is_fine(raw):
    """RFC 6120 13.12: nesting well under the limit is ordinary XML."""
    c = bound(raw, resource='deep')
    c.send("<message to='%s/deep' id='nest'>" % c.jid.split('/')[0] +
           '<x xmlns="urn:example:n">' + '<a>' * 20 + '</a>' * 20 + '</x>'
           '</message>')
    res = c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    assert res.get('type') == 'result'


def test_many_attributes_stanza_under_limit(raw):
    """RFC 6120 13.12: a stanza below the size limit with many attributes is
    processed (size limits are by bytes, not by count)."""
    c = bound(raw)
    attrs = ' '.join("a%d='%d'" % (i, i) for i in range(500))
    c.send("<iq type='get' id='attrs' to='%s'><ping xmlns='urn:xmpp:ping' "
           "%s/></iq>" % (DOMAIN, attrs))
    res = c.wait_for(lambda e: e.get('id') == 'attrs')
    assert res.get('type') in ('result', 'error')


# ---- timeouts (own servers with short limits) ---------------------------

def test_preauth_timeout_unfinished_header(server_factory, raw):
    """RFC 6120 4.9.3.4 and 13.12: a client that never finishes its header
    gets connection-timeout once the pre-auth timeout (2 s) passes."""
    srv = server_factory({'c2s': {'preauth_timeout': 2}})
    c = raw(server=srv)
    c.send(b"<?xml version='1.0'?><stream:stream to='localhost' "
           b"xmlns='jabber:client'")
    start = time.monotonic()
    c.expect_stream_error('connection-timeout', timeout=8)
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed <= 7.0, elapsed


def test_preauth_timeout_silent_client(server_factory, raw):
    """RFC 6120 13.12: a client that sends nothing is dropped after the
    pre-auth timeout (with connection-timeout if anything is said)."""
    srv = server_factory({'c2s': {'preauth_timeout': 2}})
    c = raw(server=srv)
    data = c.wait_closed(8)
    if b'error' in data:
        assert b'connection-timeout' in data, data


def test_preauth_timeout_after_tls(server_factory, raw):
    """RFC 6120 13.12: the pre-auth timer keeps running after TLS until SASL
    succeeds."""
    srv = server_factory({'c2s': {'preauth_timeout': 2}})
    c = raw(server=srv)
    c.open_stream()
    c.starttls()
    c.expect_stream_error('connection-timeout', timeout=8)


def test_preauth_timeout_spares_logged_in(server_factory, raw):
    """RFC 6120 13.12: once authenticated the pre-auth timeout no longer
    applies."""
    srv = server_factory({'c2s': {'preauth_timeout': 2}})
    c = raw(server=srv)
    c.login('alice', USERS['alice'])
    assert c.is_open(3.5)


def test_idle_timeout_after_unanswered_ping(server_factory, raw):
    """XEP-0199 section 4.2 (server-to-client ping) and RFC 6120 4.9.3.4: an
    idle client is pinged; no answer within ping_timeout gets
    connection-timeout (idle_timeout 5 s, the minimum; ping_timeout 2 s)."""
    srv = server_factory({'c2s': {'idle_timeout': 5, 'ping_timeout': 2}})
    c = raw(server=srv)
    c.login('alice', USERS['alice'])
    ping = c.wait_for(lambda e: e.tag == q('jabber:client', 'iq') and
                      e.find(q('urn:xmpp:ping', 'ping')) is not None,
                      timeout=10, what='server ping')
    assert ping.get('type') == 'get' and ping.get('id')
    c.expect_stream_error('connection-timeout', timeout=8)


def test_idle_client_answering_pings_stays(server_factory, raw):
    """XEP-0199 section 4.2: a client that answers the server's pings is not
    disconnected."""
    srv = server_factory({'c2s': {'idle_timeout': 5, 'ping_timeout': 2}})
    c = raw(server=srv)
    c.login('alice', USERS['alice'])
    deadline = time.monotonic() + 13
    answered = 0
    while time.monotonic() < deadline:
        try:
            e = c.next_element(max(0.1, deadline - time.monotonic()))
        except AssertionError as err:
            if 'timed out' in str(err):
                break
            raise
        if e.tag == q('jabber:client', 'iq') and e.get('type') == 'get':
            c.send("<iq type='result' id='%s' to='%s'/>" %
                   (e.get('id'), e.get('from') or DOMAIN))
            answered += 1
        else:
            assert e.tag != q(NS_STREAM, 'error'), text_of(e)
    assert answered >= 1
    assert c.is_open(0.2)


def test_server_still_serves_after_errors(raw, server):
    """After all the hostile input above the server still runs and serves
    (RFC 6120 13.12: one bad stream must not hurt others)."""
    assert server.running(), server.log_tail()
    c = raw.logged_in('bob')
    assert c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN).get('type') == \
        'result'
