"""XEP-0199 (XMPP Ping): the server answers pings, and pings to users are
routed to them."""

from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of


def test_ping_server_via_slixmpp(slix):
    """XEP-0199 section 4.2: client-to-server ping gets an empty result."""
    async def body():
        c = await slix.client('alice', plugins=['xep_0199'], presence=False)
        rtt = await c['xep_0199'].ping(jid=DOMAIN, timeout=5)
        assert rtt is not None and rtt < 5
    slix.run(body())


def test_ping_server_raw(raw):
    """XEP-0199 section 4.2: the result is empty, from the server, same id."""
    c = raw.logged_in('alice')
    c.send("<iq type='get' id='ping1' to='%s'><ping xmlns='urn:xmpp:ping'/>"
           "</iq>" % DOMAIN)
    res = c.wait_for(lambda e: e.get('id') == 'ping1')
    assert res.tag == q(NS_CLIENT, 'iq')
    assert res.get('type') == 'result', text_of(res)
    assert res.get('from') == DOMAIN
    assert len(list(res)) == 0, text_of(res)


def test_ping_without_to_is_answered(raw):
    """XEP-0199 section 4.2 and RFC 6120 10.3.3: an iq with no 'to' is
    for the user's account and is answered by the server (a result, or an
    error; never silence)."""
    c = raw.logged_in('alice')
    c.send("<iq type='get' id='ping2'><ping xmlns='urn:xmpp:ping'/></iq>")
    res = c.wait_for(lambda e: e.get('id') == 'ping2')
    assert res.get('type') in ('result', 'error'), text_of(res)


def test_ping_user_via_slixmpp(slix):
    """XEP-0199 section 4.3: a ping to a full JID reaches that client, which
    answers it (slixmpp's plugin does)."""
    async def body():
        a = await slix.client('alice', plugins=['xep_0199'], presence=False)
        b = await slix.client('bob', resource='pingme',
                              plugins=['xep_0199'], presence=False)
        rtt = await a['xep_0199'].ping(jid=b.boundjid.full, timeout=5)
        assert rtt is not None
    slix.run(body())


def test_ping_unknown_user(raw):
    """XEP-0199 section 4.3 with RFC 6121 8.5.1: unknown user ->
    service-unavailable."""
    c = raw.logged_in('alice')
    res = c.iq("<ping xmlns='urn:xmpp:ping'/>", to='nobody@%s/x' % DOMAIN)
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'service-unavailable'


def test_ping_set_is_not_a_ping(raw):
    """XEP-0199 section 4.2 (ping is an iq get): a set gets an error."""
    c = raw.logged_in('alice')
    res = c.iq("<ping xmlns='urn:xmpp:ping'/>", 'set', to=DOMAIN)
    assert res.get('type') == 'error', text_of(res)
