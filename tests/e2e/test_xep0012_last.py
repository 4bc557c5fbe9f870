"""XEP-0012 (Last Activity): the server's uptime, and for a bare JID the time
since the user logged out with the status of their last unavailable
presence, only for those allowed to see the user's presence (the roster's
subscription decides who may ask)."""

import itertools
import time


import magpie
from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of

MODULES = ['disco', 'ping', 'roster', 'presence', 'last']
NS = 'jabber:iq:last'
PRESENCE = q(NS_CLIENT, 'presence')
IQ = q(NS_CLIENT, 'iq')
_ids = itertools.count(1)


def bare(user):
    return '%s@%s' % (user, DOMAIN)


def sync(c):
    """A round trip: everything c sent before has been processed."""
    c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)


def online(raw, srv, user, presence=True):
    c = raw.logged_in(user, server=srv)
    if presence:
        c.presence()
    sync(c)
    return c


def last(c, to):
    """Sends a last-activity query; returns the answer."""
    return c.iq("<query xmlns='%s'/>" % NS, to=to)


def seconds_of(res):
    assert res.get('type') == 'result', text_of(res)
    query = res.find(q(NS, 'query'))
    assert query is not None, text_of(res)
    s = query.get('seconds')
    assert s is not None and s.isdigit(), text_of(res)
    return int(s), (query.text or '')


def expect_error(res, condition):
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == condition, text_of(res)


def subscribe(contact, contact_user, requester, requester_user):
    """RFC 6121 3.1: requester asks for contact's presence and contact
    approves, so contact's subscription to requester is 'from'."""
    requester.send("<presence to='%s' type='subscribe'/>" % bare(contact_user))
    sync(requester)
    contact.send("<presence to='%s' type='subscribed'/>" %
                 bare(requester_user))
    sync(contact)
    sync(requester)


def test_uptime_via_slixmpp(server_factory, slix_for):
    """XEP-0012 section 5: a query to the server answers how long it has
    been up, with no character data."""
    srv = server_factory(modules=MODULES)
    h = slix_for(srv)

    async def body():
        c = await h.client('alice', plugins=['xep_0012'], presence=False)
        iq = await c['xep_0012'].get_last_activity(DOMAIN, timeout=5)
        return iq['type'], iq['last_activity']['seconds'], \
            iq['last_activity']['status']
    type_, seconds, status = h.run(body())
    assert type_ == 'result'
    assert 0 <= int(seconds) < 120
    assert not status


def test_uptime_grows(server_factory, raw):
    """XEP-0012 section 5: the seconds are the server's uptime, so they grow
    with time."""
    srv = server_factory(modules=MODULES)
    c = online(raw, srv, 'alice', presence=False)
    first, text = seconds_of(last(c, DOMAIN))
    assert text == ''
    time.sleep(2.1)
    second, _ = seconds_of(last(c, DOMAIN))
    assert second >= first + 2, (first, second)


def test_logout_time_and_status_after_subscription(server_factory, raw):
    """XEP-0012 section 3: for a bare JID, the seconds since the user logged
    out and the status text of their last unavailable presence; allowed
    because the user approved the requester's subscription."""
    srv = server_factory(modules=MODULES)
    alice = online(raw, srv, 'alice')
    bob = online(raw, srv, 'bob')
    subscribe(alice, 'alice', bob, 'bob')
    alice.send("<presence type='unavailable'><status>Heading Home</status>"
               "</presence>")
    sync(alice)
    alice.end_stream()
    alice.wait_closed()
    time.sleep(2.2)
    seconds, status = seconds_of(last(bob, bare('alice')))
    assert 2 <= seconds < 60, seconds
    assert status == 'Heading Home'


def test_logout_without_status(server_factory, raw):
    """XEP-0012 section 3: the status text is only given when the last
    unavailable presence had one (a dropped connection has none)."""
    srv = server_factory(modules=MODULES)
    alice = online(raw, srv, 'alice')
    bob = online(raw, srv, 'bob')
    subscribe(alice, 'alice', bob, 'bob')
    alice.close()
    deadline = time.monotonic() + 5
    while True:
        res = last(bob, bare('alice'))
        if res.get('type') == 'result' and \
                res.find(q(NS, 'query')).get('seconds') != '0':
            break
        assert time.monotonic() < deadline, text_of(res)
        time.sleep(0.1)
    seconds, status = seconds_of(res)
    assert seconds < 60 and status == ''


def test_online_contact_answers_zero(server_factory, raw):
    """XEP-0012 section 3: a user with an available resource: seconds='0'
    and an empty <query/>."""
    srv = server_factory(modules=MODULES)
    alice = online(raw, srv, 'alice')
    bob = online(raw, srv, 'bob')
    subscribe(alice, 'alice', bob, 'bob')
    assert seconds_of(last(bob, bare('alice'))) == (0, '')


def test_forbidden_without_subscription(server_factory, raw):
    """XEP-0012 sections 3 and 8: without the user's approval of a presence
    subscription the requester gets <forbidden/>, whether the user is
    online or not; approval in the other direction does not count."""
    srv = server_factory(modules=MODULES)
    alice = online(raw, srv, 'alice')
    carol = online(raw, srv, 'carol')
    expect_error(last(carol, bare('alice')), 'forbidden')
    # carol approves alice: that lets alice see carol, not carol see alice
    subscribe(carol, 'carol', alice, 'alice')
    expect_error(last(carol, bare('alice')), 'forbidden')
    alice.close()
    time.sleep(0.3)
    expect_error(last(carol, bare('alice')), 'forbidden')


def test_self_query(server_factory, raw):
    """XEP-0012 section 3: a user may ask about their own account; being
    online, the answer is 0."""
    srv = server_factory(modules=MODULES)
    alice = online(raw, srv, 'alice')
    assert seconds_of(last(alice, bare('alice'))) == (0, '')


def test_never_logged_out(server_factory, raw):
    """XEP-0012 section 3: a user who is not available and has no recorded
    logout has no answer to give (service-unavailable), not a made-up
    time."""
    srv = server_factory(modules=MODULES)
    carol = online(raw, srv, 'carol', presence=False)
    bob = online(raw, srv, 'bob')
    subscribe(carol, 'carol', bob, 'bob')
    expect_error(last(bob, bare('carol')), 'service-unavailable')


def test_user_deleted_forgets_logout(server_factory, raw):
    """XEP-0012 with account removal: the logout record goes with the
    account; a new account of the same name has none."""
    srv = server_factory(modules=MODULES)
    alice = online(raw, srv, 'alice')
    bob = online(raw, srv, 'bob')
    subscribe(alice, 'alice', bob, 'bob')
    alice.close()
    time.sleep(0.3)
    seconds_of(last(bob, bare('alice')))
    bob.close()
    assert srv.stop() == 0
    srv.ctl('user', 'del', bare('alice'))
    srv.ctl('user', 'add', bare('alice'), magpie.USERS['alice'])
    srv.start()
    alice = online(raw, srv, 'alice', presence=False)
    bob = online(raw, srv, 'bob')
    subscribe(alice, 'alice', bob, 'bob')
    expect_error(last(bob, bare('alice')), 'service-unavailable')


def test_set_is_refused(server_factory, raw):
    """XEP-0012 section 2 (only get is defined) and RFC 6120 8.2.3: a set
    is answered with an error."""
    srv = server_factory(modules=MODULES)
    c = online(raw, srv, 'alice')
    res = c.iq("<query xmlns='%s' seconds='5'/>" % NS, 'set', to=DOMAIN)
    assert res.get('type') == 'error', text_of(res)


def test_disco_features(server_factory, raw):
    """XEP-0012 section 6: jabber:iq:last is listed by the server and by an
    account's bare JID."""
    srv = server_factory(modules=MODULES)
    c = online(raw, srv, 'alice', presence=False)
    info = 'http://jabber.org/protocol/disco#info'
    for to in (DOMAIN, bare('bob')):
        res = c.iq("<query xmlns='%s'/>" % info, to=to)
        feats = {f.get('var') for f in res.iter(q(info, 'feature'))}
        assert NS in feats, text_of(res)
