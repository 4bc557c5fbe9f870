"""RFC 6120 section 4: opening, restarting and closing XML streams, and the
stream features offered at each step."""

import re

import pytest

from magpie import DOMAIN, USERS
from rawxmpp import (NS_BIND, NS_CLIENT, NS_SASL, NS_SESSION, NS_STREAM,
                     NS_TLS, q)


def test_response_header(raw):
    """RFC 6120 4.7: the response header carries from= (our domain), a fresh
    id, version='1.0', the content namespace, and echoes no 'to' we did not
    send; XML declaration and namespaces per 4.8."""
    c = raw()
    attrs = c.open_stream(features=False)
    assert attrs.get('from') == DOMAIN
    assert attrs.get('version') == '1.0'
    sid = attrs.get('id')
    assert sid and len(sid) >= 8, 'stream id should be unguessable (4.7.3)'
    assert c.root.tag == q(NS_STREAM, 'stream')
    assert re.match(rb"\s*<\?xml version=['\"]1.0['\"]", bytes(c.received)) \
        or c.received.startswith(b'<stream:stream'), c.describe()
    features = c.expect(q(NS_STREAM, 'features'))
    assert features is not None

    c2 = raw()
    attrs2 = c2.open_stream(features=False)
    assert attrs2.get('id') != sid, 'each stream gets its own id'


def test_response_header_no_to_when_client_sends_no_from(raw):
    """RFC 6120 4.7.2: the response 'to' is the initiator's 'from' when that
    was given (a JID), and absent otherwise."""
    c = raw()
    attrs = c.open_stream(features=False)
    assert attrs.get('to') in (None, '')
    c2 = raw()
    attrs2 = c2.open_stream(features=False, frm='alice@' + DOMAIN)
    assert attrs2.get('to') in (None, 'alice@' + DOMAIN)


def test_features_before_tls_offer_only_required_starttls(raw):
    """RFC 6120 5.3.1 and 4.3.2: with TLS mandatory the first features
    offer STARTTLS marked <required/>, and no SASL before it."""
    c = raw()
    c.open_stream()
    starttls = c.feature(NS_TLS, 'starttls')
    assert starttls is not None, 'no <starttls/> in %s' % c.describe()
    assert starttls.find(q(NS_TLS, 'required')) is not None
    assert c.feature(NS_SASL, 'mechanisms') is None
    assert c.feature(NS_BIND, 'bind') is None


def test_features_after_tls_offer_sasl_only(raw):
    """RFC 6120 5.4.3.3 and 6.4.1: after TLS the restarted stream offers
    SASL mechanisms and no longer STARTTLS."""
    c = raw()
    c.open_stream()
    c.starttls()
    assert c.feature(NS_TLS, 'starttls') is None
    mechs = c.mechanisms()
    for m in ('SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'):
        assert m in mechs, mechs
    assert c.feature(NS_BIND, 'bind') is None


def test_features_after_sasl_offer_bind(raw):
    """RFC 6120 6.4.6 and 7.2: after SASL the restarted stream offers
    resource binding, no SASL and no STARTTLS; the session feature, when
    offered, must be optional (RFC 6121 appendix E / RFC 3921bis)."""
    c = raw()
    c.open_stream()
    c.starttls()
    c.authenticate('alice', USERS['alice'])
    assert c.feature(NS_BIND, 'bind') is not None
    assert c.feature(NS_SASL, 'mechanisms') is None
    assert c.feature(NS_TLS, 'starttls') is None
    session = c.feature(NS_SESSION, 'session')
    if session is not None:
        assert session.find(q(NS_SESSION, 'optional')) is not None


def test_new_stream_id_after_restart(raw):
    """RFC 6120 4.3.3 and 4.7.3: every restarted stream has a new id."""
    c = raw()
    ids = [c.open_stream(features=False).get('id')]
    c.expect(q(NS_STREAM, 'features'))
    c.starttls(restart=False)
    ids.append(c.open_stream().get('id'))
    c.authenticate('alice', USERS['alice'])
    ids.append(c.stream_attrs.get('id'))
    assert len(set(ids)) == 3, ids


def test_client_closes_stream(raw):
    """RFC 6120 4.4: when the client sends </stream:stream> the server
    closes its stream too and then the TCP connection."""
    c = raw()
    c.login('alice', USERS['alice'])
    c.send('</stream:stream>')
    c.expect_stream_end(timeout=5)


def test_client_closes_stream_before_tls(raw):
    """RFC 6120 4.4, before any negotiation."""
    c = raw()
    c.open_stream()
    c.send('</stream:stream>')
    c.expect_stream_end(timeout=5)


def test_whitespace_keepalive_accepted(raw):
    """RFC 6120 4.6.1: whitespace between stanzas keeps the stream alive and
    is not an error."""
    c = raw()
    c.login('alice', USERS['alice'])
    for _ in range(3):
        c.send(' \n\t ')
    res = c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    assert res.get('type') == 'result'


def test_stanzas_split_across_writes(raw):
    """RFC 6120 4.2: the stream is a byte stream; a stanza may arrive in
    any number of pieces (here one byte at a time)."""
    c = raw()
    c.login('alice', USERS['alice'])
    data = "<iq type='get' id='split1' to='%s'><ping xmlns='urn:xmpp:ping'/>" \
        "</iq>" % DOMAIN
    for ch in data:
        c.send(ch)
    res = c.wait_for(lambda e: e.get('id') == 'split1')
    assert res.get('type') == 'result'


def test_many_stanzas_in_one_write(raw):
    """RFC 6120 4.2: several stanzas in one TCP segment are all handled,
    in order (RFC 6120 10.1)."""
    c = raw()
    c.login('alice', USERS['alice'])
    batch = ''.join("<iq type='get' id='b%d' to='%s'><ping xmlns='urn:xmpp:"
                    "ping'/></iq>" % (i, DOMAIN) for i in range(20))
    c.send(batch)
    got = [c.next_element().get('id') for _ in range(20)]
    assert got == ['b%d' % i for i in range(20)]


def test_utf8_content_roundtrip(raw):
    """RFC 6120 11.6: UTF-8 content (here multi-byte characters, split
    inside a character) is carried intact between clients."""
    a = raw.logged_in('alice', resource='utf8')
    b = raw.logged_in('bob', resource='utf8')
    b.presence()
    b.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    text = 'h\u00e9llo \u4e16\u754c \U0001F426'
    data = ("<message to='bob@%s/utf8' type='chat'><body>%s</body></message>"
            % (DOMAIN, text)).encode()
    cut = data.index('\u4e16'.encode()) + 1
    a.send(data[:cut])
    a.send(data[cut:])
    msg = b.wait_for(lambda e: e.tag == q(NS_CLIENT, 'message'))
    assert msg.find(q(NS_CLIENT, 'body')).text == text


@pytest.mark.parametrize('lang', ['en', 'de-CH', None])
def test_xml_lang_accepted(raw, lang):
    """RFC 6120 4.7.4: xml:lang on the header is optional and any language
    tag is accepted."""
    c = raw()
    c.open_stream(lang=lang)
    assert c.feature(NS_TLS, 'starttls') is not None
