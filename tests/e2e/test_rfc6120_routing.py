"""RFC 6120 section 8 and 10 with RFC 6121 section 8: stamping 'from',
delivery to bare and full JIDs by availability and priority, and the error
replies for unknown users, resources and domains."""


import pytest

from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of

MSG = q(NS_CLIENT, 'message')
IQ = q(NS_CLIENT, 'iq')
PRESENCE = q(NS_CLIENT, 'presence')


def sync(c):
    """A round trip: everything c sent before has been processed."""
    c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)


def online(raw, user, resource, priority=None, available=True):
    c = raw.logged_in(user, resource=resource)
    if available:
        c.presence(priority)
        sync(c)
    return c


def full(user, resource):
    return '%s@%s/%s' % (user, DOMAIN, resource)


def bare(user):
    return '%s@%s' % (user, DOMAIN)


def next_of(c, tag, timeout=5.0):
    """The next stanza with that tag, skipping presence broadcasts."""
    return c.wait_for(lambda e: e.tag == tag, timeout, tag)


def silent(c, wait=1.0, tags=(MSG, IQ)):
    """Asserts no stanza of those kinds arrives within wait seconds."""
    for e in c.elements_for(wait):
        if e.tag in tags:
            raise AssertionError('unexpected stanza: %s' % text_of(e))


def send_msg(c, to, body='hello', type_='chat', id_='m1', extra=''):
    c.send("<message to='%s' type='%s' id='%s'%s><body>%s</body></message>"
           % (to, type_, id_, extra, body))


def expect_error(c, tag, condition, id_, frm=None, timeout=5.0):
    e = c.wait_for(lambda x: x.tag == tag and x.get('id') == id_, timeout,
                   'error reply %s' % id_)
    assert e.get('type') == 'error', text_of(e)
    assert error_condition(e) == condition, text_of(e)
    if frm is not None:
        # RFC 6120 8.3.1: the error comes from the original 'to'
        assert e.get('from') == frm, text_of(e)
    return e


def test_message_to_full_jid(raw):
    """RFC 6121 8.5.3.1 and RFC 6120 8.1.2.1: delivered to that resource,
    'from' stamped with the sender's full JID, id and body intact."""
    a = online(raw, 'alice', 'a1')
    b = online(raw, 'bob', 'b1')
    send_msg(a, full('bob', 'b1'), 'to full', id_='f1')
    m = next_of(b, MSG)
    assert m.get('from') == full('alice', 'a1')
    assert m.get('to') == full('bob', 'b1')
    assert m.get('id') == 'f1'
    assert m.find(q(NS_CLIENT, 'body')).text == 'to full'


def test_message_to_bare_jid(raw):
    """RFC 6121 8.5.2.1.1: a chat message to the bare JID goes to the
    available resource."""
    a = online(raw, 'alice', 'a2')
    b = online(raw, 'bob', 'b2')
    send_msg(a, bare('bob'), 'to bare', id_='bare1')
    m = next_of(b, MSG)
    assert m.get('from') == full('alice', 'a2')
    assert m.find(q(NS_CLIENT, 'body')).text == 'to bare'


def test_bare_jid_highest_priority_wins(raw):
    """RFC 6121 8.5.2.1.1: with several available resources a chat message
    to the bare JID goes to the one(s) with the highest priority."""
    a = online(raw, 'alice', 'a3')
    hi = online(raw, 'bob', 'hi', priority=5)
    lo = online(raw, 'bob', 'lo', priority=1)
    send_msg(a, bare('bob'), 'prio', id_='p1')
    next_of(hi, MSG)
    silent(lo, 1.0)


def test_bare_jid_negative_priority_is_not_a_target(raw):
    """RFC 6121 8.5.2.1.1 and 4.7.2.3: a resource with negative priority
    never gets messages to the bare JID; with no other resource the
    message is handled as if nobody were online (service-unavailable here,
    as there is no offline storage)."""
    a = online(raw, 'alice', 'a4')
    neg = online(raw, 'bob', 'neg', priority=-1)
    send_msg(a, bare('bob'), 'neg', id_='n1')
    expect_error(a, MSG, 'service-unavailable', 'n1', frm=bare('bob'))
    silent(neg, 0.5)


def test_bound_but_not_available_gets_nothing(raw):
    """RFC 6121 4.2 and 8.5.2.1.1: a session that has not sent initial
    presence is not available, so a message to the bare JID is not
    delivered to it (error, no offline storage)."""
    a = online(raw, 'alice', 'a5')
    b = online(raw, 'bob', 'quiet', available=False)
    send_msg(a, bare('bob'), 'hidden', id_='u1')
    expect_error(a, MSG, 'service-unavailable', 'u1')
    silent(b, 0.5)


def test_full_jid_of_unavailable_session_still_delivered(raw):
    """RFC 6121 8.5.3.1: a message to the full JID of a connected resource
    is delivered even if that resource sent no presence."""
    a = online(raw, 'alice', 'a6')
    b = online(raw, 'bob', 'quiet2', available=False)
    send_msg(a, full('bob', 'quiet2'), 'direct', id_='d1')
    assert next_of(b, MSG).get('id') == 'd1'


@pytest.mark.parametrize('type_', ['chat', 'normal'])
def test_unknown_resource_message_falls_back_to_bare(raw, type_):
    """RFC 6121 8.5.3.2.1: chat and normal messages to a full JID whose
    resource does not exist are handled as if sent to the bare JID."""
    a = online(raw, 'alice', 'a7')
    b = online(raw, 'bob', 'real')
    send_msg(a, full('bob', 'ghost'), 'fallback', type_=type_, id_='g1')
    m = next_of(b, MSG)
    assert m.get('id') == 'g1'
    assert m.get('from') == full('alice', 'a7')


def test_unknown_resource_iq_is_service_unavailable(raw):
    """RFC 6121 8.5.3.2.2 / RFC 6120 8.3.3.19: an iq to a full JID with no
    such resource gets service-unavailable."""
    a = online(raw, 'alice', 'a8')
    online(raw, 'bob', 'real2')
    a.send("<iq type='get' id='i1' to='%s'><query xmlns='jabber:iq:version'/>"
           "</iq>" % full('bob', 'ghost'))
    expect_error(a, IQ, 'service-unavailable', 'i1', frm=full('bob', 'ghost'))


def test_iq_to_full_jid_routed_both_ways(raw):
    """RFC 6120 8.2.3 and RFC 6121 8.5.3.1: an iq to a connected full JID
    reaches it; its result comes back to the requester."""
    a = online(raw, 'alice', 'a9')
    b = online(raw, 'bob', 'r9')
    a.send("<iq type='get' id='q1' to='%s'><query xmlns='urn:example:x'/>"
           "</iq>" % full('bob', 'r9'))
    got = next_of(b, IQ)
    assert got.get('from') == full('alice', 'a9') and got.get('id') == 'q1'
    b.send("<iq type='result' id='q1' to='%s'/>" % full('alice', 'a9'))
    res = a.wait_for(lambda e: e.tag == IQ and e.get('id') == 'q1')
    assert res.get('type') == 'result'
    assert res.get('from') == full('bob', 'r9')


def test_offline_user_chat_is_service_unavailable(raw):
    """RFC 6121 8.5.2.2.1: a message to an existing user with no available
    resource, and no offline storage, gets service-unavailable."""
    a = online(raw, 'alice', 'a10')
    send_msg(a, bare('carol'), 'anyone?', id_='o1')
    expect_error(a, MSG, 'service-unavailable', 'o1', frm=bare('carol'))


def test_unknown_user(raw):
    """RFC 6121 8.5.1: for a user that does not exist on our host, messages
    and iqs get service-unavailable and presence is silently dropped."""
    a = online(raw, 'alice', 'a11')
    send_msg(a, 'nobody@' + DOMAIN, 'hi', id_='x1')
    expect_error(a, MSG, 'service-unavailable', 'x1')
    a.send("<iq type='get' id='x2' to='nobody@%s/r'><query "
           "xmlns='jabber:iq:version'/></iq>" % DOMAIN)
    expect_error(a, IQ, 'service-unavailable', 'x2')
    a.send("<presence to='nobody@%s' type='subscribe' id='x3'/>" % DOMAIN)
    a.send("<presence to='nobody@%s/r' id='x4'/>" % DOMAIN)
    silent(a, 1.0, tags=(MSG, IQ, PRESENCE))
    assert a.is_open(0.1)


def test_remote_domain_is_remote_server_not_found(raw):
    """RFC 6120 8.3.3.15 and 10.4 (no s2s yet): stanzas for another domain
    get remote-server-not-found."""
    a = online(raw, 'alice', 'a12')
    send_msg(a, 'juliet@example.org', 'far', id_='r1')
    expect_error(a, MSG, 'remote-server-not-found', 'r1',
                 frm='juliet@example.org')
    a.send("<iq type='get' id='r2' to='example.org'><ping xmlns='urn:xmpp:"
           "ping'/></iq>")
    expect_error(a, IQ, 'remote-server-not-found', 'r2')


def test_error_stanzas_are_never_answered(raw):
    """RFC 6120 8.3.1: an entity must not answer an error stanza with an
    error (no loops)."""
    a = online(raw, 'alice', 'a13')
    a.send("<message type='error' id='e1' to='nobody@%s'><error "
           "type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:"
           "xmpp-stanzas'/></error></message>" % DOMAIN)
    a.send("<iq type='error' id='e2' to='nobody@%s/x'><error type='cancel'>"
           "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
           "</error></iq>" % DOMAIN)
    a.send("<message type='error' id='e3' to='x@example.org'><error "
           "type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:"
           "xmpp-stanzas'/></error></message>")
    a.send("<iq type='result' id='e4' to='%s'/>" % DOMAIN)
    silent(a, 1.5)


def test_spoofed_from_is_replaced(raw):
    """RFC 6120 8.1.2.1: the server stamps 'from' with the sender's full
    JID, whatever the client wrote (another user, or its own bare JID)."""
    a = online(raw, 'alice', 'a14')
    b = online(raw, 'bob', 'b14')
    send_msg(a, full('bob', 'b14'), 'spoof1', id_='s1',
             extra=" from='carol@%s/evil'" % DOMAIN)
    m = next_of(b, MSG)
    assert m.get('from') == full('alice', 'a14'), text_of(m)
    send_msg(a, full('bob', 'b14'), 'spoof2', id_='s2',
             extra=" from='%s'" % bare('alice'))
    m = next_of(b, MSG)
    assert m.get('from') == full('alice', 'a14'), text_of(m)
    send_msg(a, full('bob', 'b14'), 'spoof3', id_='s3',
             extra=" from='%s'" % DOMAIN)
    m = next_of(b, MSG)
    assert m.get('from') == full('alice', 'a14'), text_of(m)


def test_unhandled_iq_is_service_unavailable(raw):
    """RFC 6120 8.2.3 and 8.4: an iq get/set that nobody handles gets
    service-unavailable (to the server and to the user's bare JID)."""
    a = online(raw, 'alice', 'a15')
    for i, to in enumerate([DOMAIN, bare('bob'), bare('alice')]):
        for type_ in ('get', 'set'):
            id_ = 'u%d%s' % (i, type_)
            a.send("<iq type='%s' id='%s' to='%s'><query xmlns='urn:example:"
                   "unknown'/></iq>" % (type_, id_, to))
            expect_error(a, IQ, 'service-unavailable', id_)


def test_iq_without_id_is_bad_request(raw):
    """RFC 6120 8.1.3 and 8.2.3: iq stanzas need an id; bad-request."""
    a = online(raw, 'alice', 'a16')
    a.send("<iq type='get' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
           % DOMAIN)
    e = a.wait_for(lambda x: x.tag == IQ)
    assert e.get('type') == 'error', text_of(e)
    assert error_condition(e) == 'bad-request', text_of(e)


@pytest.mark.parametrize('type_', ['bogus', '', 'GET'])
def test_iq_with_bad_type_is_bad_request(raw, type_):
    """RFC 6120 8.2.3: type must be get, set, result or error."""
    a = online(raw, 'alice', 'a17')
    a.send("<iq type='%s' id='bt' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
           % (type_, DOMAIN))
    expect_error(a, IQ, 'bad-request', 'bt')


def test_iq_get_needs_one_child(raw):
    """RFC 6120 8.2.3: an iq get or set has exactly one payload child."""
    a = online(raw, 'alice', 'a18')
    a.send("<iq type='get' id='nc' to='%s'/>" % DOMAIN)
    e = a.wait_for(lambda x: x.tag == IQ and x.get('id') == 'nc')
    assert e.get('type') == 'error', text_of(e)
    assert error_condition(e) in ('bad-request', 'service-unavailable')


@pytest.mark.parametrize('to', [
    '@' + DOMAIN,                       # empty localpart
    'bob@' + DOMAIN + '/',              # empty resourcepart
    'b:ob@' + DOMAIN,                   # ':' is not allowed in a localpart
    'b ob@' + DOMAIN,                   # nor a space
    'x' * 1024 + '@' + DOMAIN,          # localpart over 1023 bytes
    'bob@' + 'd' * 1024,                # domainpart over 1023 bytes
    'bob@@' + DOMAIN,
], ids=['empty-local', 'empty-resource', 'colon', 'space', 'long-local',
        'long-domain', 'double-at'])
def test_malformed_to_is_jid_malformed(raw, to):
    """RFC 6120 8.3.3.8 and RFC 7622 3: a 'to' that is not a valid JID
    gets jid-malformed."""
    a = online(raw, 'alice', 'a19')
    a.send("<message to='%s' type='chat' id='jm'><body>x</body></message>"
           % to)
    expect_error(a, MSG, 'jid-malformed', 'jm')
    a.send("<iq to='%s' type='get' id='jmi'><ping xmlns='urn:xmpp:ping'/>"
           "</iq>" % to)
    expect_error(a, IQ, 'jid-malformed', 'jmi')


def test_groupchat_to_bare_jid_is_service_unavailable(raw):
    """RFC 6121 8.5.2.1.1: a groupchat message to a user's bare JID gets
    service-unavailable."""
    a = online(raw, 'alice', 'a20')
    online(raw, 'bob', 'b20')
    send_msg(a, bare('bob'), 'gc', type_='groupchat', id_='gc1')
    expect_error(a, MSG, 'service-unavailable', 'gc1')


def test_headline_to_bare_jid_goes_to_all_nonnegative(raw):
    """RFC 6121 8.5.2.1.1: a headline message to the bare JID goes to every
    available resource with non-negative priority."""
    a = online(raw, 'alice', 'a21')
    b1 = online(raw, 'bob', 'h1', priority=3)
    b2 = online(raw, 'bob', 'h2', priority=0)
    b3 = online(raw, 'bob', 'h3', priority=-2)
    send_msg(a, bare('bob'), 'news', type_='headline', id_='h')
    next_of(b1, MSG)
    next_of(b2, MSG)
    silent(b3, 0.5)


def test_directed_presence_to_full_jid(raw):
    """RFC 6121 4.6 and 8.5.3.1: directed presence to a connected full JID
    is delivered with the sender's full JID."""
    a = online(raw, 'alice', 'a22')
    b = online(raw, 'bob', 'b22')
    a.send("<presence to='%s' id='dp'/>" % full('bob', 'b22'))
    p = b.wait_for(lambda e: e.tag == PRESENCE and e.get('id') == 'dp')
    assert p.get('from') == full('alice', 'a22')


def test_big_stanza_after_auth_is_routed(raw):
    """RFC 6120 13.12: stanzas below the configured limit (256 KiB here)
    are fine; a 100 KiB message is delivered whole."""
    a = online(raw, 'alice', 'a23')
    b = online(raw, 'bob', 'b23')
    body = 'z' * (100 * 1024)
    send_msg(a, full('bob', 'b23'), body, id_='big')
    m = next_of(b, MSG, timeout=10)
    assert m.find(q(NS_CLIENT, 'body')).text == body


def test_slixmpp_message_to_bare_and_full(slix):
    """RFC 6121 8.5.2.1.1 and 8.5.3.1 through slixmpp: two clients chat."""
    async def body():
        a = await slix.client('alice', resource='laptop')
        b = await slix.client('bob', resource='phone')
        a.send_message(mto=bare('bob'), mbody='to bare', mtype='chat')
        m = await b.next_message(type_='chat')
        assert m['body'] == 'to bare'
        assert m['from'].full == full('alice', 'laptop')
        b.send_message(mto=full('alice', 'laptop'), mbody='to full',
                       mtype='chat')
        m = await a.next_message(type_='chat')
        assert m['body'] == 'to full'
        assert m['from'].full == full('bob', 'phone')
    slix.run(body())


def test_slixmpp_error_for_offline_user(slix):
    """RFC 6121 8.5.2.2.1 through slixmpp: the sender sees the error."""
    async def body():
        a = await slix.client('alice', resource='err')
        a.send_message(mto=bare('carol'), mbody='hi', mtype='chat')
        m = await a.next_message(type_='error')
        assert m['error']['condition'] == 'service-unavailable'
        assert m['from'].bare == bare('carol')
    slix.run(body())
