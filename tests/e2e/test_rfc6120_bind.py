"""RFC 6120 section 7: resource binding (server- and client-chosen), the
legacy session request, and resource conflicts."""

import re

import pytest

from magpie import DOMAIN, USERS
from rawxmpp import (NS_BIND, NS_CLIENT, NS_SESSION, NS_STANZAS, NS_STREAM,
                     error_condition, q, text_of)


def authed(raw, user='alice'):
    c = raw()
    c.login(user, USERS[user], bind=False)
    return c


def test_server_chosen_resource(raw):
    """RFC 6120 7.6: an empty <bind/> gets a full JID with a resource the
    server generated; two such binds get different resources."""
    a = authed(raw)
    jid = a.bind()
    m = re.fullmatch(r'alice@localhost/(.+)', jid)
    assert m, jid
    b = authed(raw)
    jid2 = b.bind()
    assert jid2 != jid
    assert a.is_open(0.3), 'a second server-chosen bind must not conflict'


def test_client_chosen_resource(raw):
    """RFC 6120 7.7: the requested resource is used as given."""
    a = authed(raw)
    assert a.bind('balcony') == 'alice@%s/balcony' % DOMAIN


def test_bind_result_shape(raw):
    """RFC 6120 7.6.1 and 7.7.1: the result iq echoes our id, is of type
    result and carries <bind><jid/></bind>."""
    a = authed(raw)
    a.send("<iq type='set' id='bind_1'><bind xmlns='%s'><resource>x1"
           "</resource></bind></iq>" % NS_BIND)
    res = a.next_element()
    assert res.tag == q(NS_CLIENT, 'iq') and res.get('id') == 'bind_1'
    assert res.get('type') == 'result', text_of(res)
    assert res.find('%s/%s' % (q(NS_BIND, 'bind'), q(NS_BIND, 'jid'))).text \
        == 'alice@%s/x1' % DOMAIN


def test_session_request_answered(raw):
    """RFC 3921 section 3 as kept by RFC 6121 appendix E: a client that
    still sends the session request gets an empty result."""
    a = authed(raw)
    a.bind('sess')
    res = a.iq("<session xmlns='%s'/>" % NS_SESSION, 'set')
    assert res.get('type') == 'result', text_of(res)


@pytest.mark.parametrize('resource', ['', '\u0378', 'a' * 1024],
                         ids=['empty', 'unassigned', 'too-long'])
def test_bad_resource_refused(raw, resource):
    """RFC 6120 7.7.2.1 and RFC 7622 3.4: an empty, over-long (1024 bytes)
    or unpreparable (unassigned code point, PRECIS OpaqueString) resourcepart
    is <bad-request/> (or jid-malformed / not-acceptable), or replaced by a
    server-chosen one (7.7.1); the stream stays usable."""
    a = authed(raw)
    res = a.iq("<bind xmlns='%s'><resource>%s</resource></bind>" %
               (NS_BIND, resource), 'set')
    if res.get('type') == 'result':
        # 7.7.1: the server may override the resource instead of refusing
        # (and an empty <resource/> may mean "choose one for me").
        jid = res.find('%s/%s' % (q(NS_BIND, 'bind'), q(NS_BIND, 'jid'))).text
        assert jid.startswith('alice@%s/' % DOMAIN), jid
        got = jid.split('/', 1)[1]
        assert got and got != resource and len(got.encode()) <= 1023, jid
        return
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) in ('bad-request', 'not-acceptable',
                                     'jid-malformed'), text_of(res)
    assert a.bind('good')


def test_resource_conflict_logs_out_older(raw):
    """RFC 6120 7.7.2.2: on a resource conflict this server keeps the new
    session and ends the older one with a <conflict/> stream error."""
    old = raw.logged_in('alice', resource='desk')
    new = authed(raw)
    assert new.bind('desk') == 'alice@%s/desk' % DOMAIN
    old.expect_stream_error('conflict')
    res = new.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    assert res.get('type') == 'result'


def test_conflict_then_messages_go_to_new_session(raw):
    """RFC 6120 7.7.2.2 with RFC 6121 8.5.3.1: after the takeover, stanzas
    for the full JID reach the newer session."""
    old = raw.logged_in('bob', resource='same')
    new = raw.logged_in('bob', resource='same')
    old.expect_stream_error('conflict')
    a = raw.logged_in('alice', resource='sender')
    a.send("<message to='bob@%s/same' type='chat' id='m1'><body>hi</body>"
           "</message>" % DOMAIN)
    msg = new.wait_for(lambda e: e.tag == q(NS_CLIENT, 'message'))
    assert msg.get('from') == 'alice@%s/sender' % DOMAIN


def test_second_bind_on_stream_refused(raw):
    """RFC 6120 7.1 (one resource per stream in this server): a second bind
    on a bound stream is refused with an error, not a second JID."""
    a = authed(raw)
    a.bind('one')
    res = a.iq("<bind xmlns='%s'><resource>two</resource></bind>" % NS_BIND,
               'set')
    assert res.get('type') == 'error', text_of(res)


def test_stanza_before_bind_refused(raw):
    """RFC 6120 7.1: a client must bind before sending stanzas other than
    the bind request; the server refuses them (not-authorized stanza or
    stream error)."""
    a = authed(raw)
    a.send("<message to='bob@%s' type='chat'><body>early</body></message>" %
           DOMAIN)
    elem = a.next_element(allow_end=True)
    if elem is None:
        return
    if elem.tag == q(NS_STREAM, 'error'):
        return
    assert elem.get('type') == 'error', text_of(elem)
    assert error_condition(elem, NS_STANZAS) is not None


def test_slixmpp_bind_both_styles(slix):
    """RFC 6120 7.6 and 7.7 through slixmpp."""
    async def body():
        a = await slix.client('alice', presence=False)
        assert a.boundjid.resource and a.boundjid.bare == 'alice@' + DOMAIN
        b = await slix.client('alice', resource='chosen', presence=False)
        assert b.boundjid.full == 'alice@%s/chosen' % DOMAIN
    slix.run(body())
