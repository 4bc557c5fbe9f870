"""RFC 6121 sections 3 and 4: subscription handshakes (both orders, with the
contact offline), pre-approval, roster pushes caused by subscriptions,
presence broadcast and probes on login, unavailable on an abrupt close,
directed presence, and subscriptions ended by removing a roster item."""

import asyncio

import pytest

from rawxmpp import text_of
from test_rfc6121_roster import PRESENCE, bare, login, next_push, push_item, \
    roster_items, roster_set, start_server, sync, take

NS_PREAPPROVAL = 'urn:xmpp:features:pre-approval'


@pytest.fixture
def srv(server_factory):
    """A fresh server per test, so that subscription states start at None."""
    return start_server(server_factory)


def send_sub(c, to, type_):
    c.send("<presence to='%s' type='%s'/>" % (to, type_))


def next_presence(c, frm=None, type_=None, timeout=5.0):
    """The next presence from frm (bare or full) of that type (None:
    available)."""
    def match(e):
        if e.tag != PRESENCE or e.get('type') != type_:
            return False
        f = e.get('from') or ''
        return frm is None or f == frm or f.split('/')[0] == frm
    return take(c, match, timeout, 'presence %s from %s' % (type_, frm))


def no_presence(c, frm, type_=None, wait=1.0):
    try:
        e = next_presence(c, frm, type_, wait)
    except AssertionError:
        return
    raise AssertionError('unexpected presence: %s' % text_of(e))


def sub_of(c, jid):
    item = roster_items(c).get(jid)
    return None if item is None else (item.get('subscription'),
                                      item.get('ask'))


def handshake(a, b, a_user, b_user):
    """a subscribes to b, b approves; checks every step of RFC 6121 3.1."""
    send_sub(a, bare(b_user), 'subscribe')
    # 3.1.2: the subscriber's roster shows the pending request
    item = push_item(next_push(a, bare(b_user)))
    assert item.get('ask') == 'subscribe', text_of(item)
    # 3.1.3: delivered from the bare JID
    req = next_presence(b, bare(a_user), 'subscribe')
    assert req.get('from') == bare(a_user), text_of(req)
    send_sub(b, bare(a_user), 'subscribed')
    # 3.1.5: the contact's roster gets the item with 'from' ...
    item = push_item(next_push(b, bare(a_user)))
    assert item.get('subscription') in ('from', 'both'), text_of(item)
    # ... the subscriber gets 'subscribed', a push with 'to', and presence
    ok = next_presence(a, bare(b_user), 'subscribed')
    assert ok.get('from') == bare(b_user)
    item = push_item(next_push(a, bare(b_user)))
    assert item.get('subscription') in ('to', 'both'), text_of(item)
    assert item.get('ask') is None
    next_presence(a, bare(b_user))


def test_handshake_contact_first(raw, srv):
    """RFC 6121 3.1 then 3.1 the other way: bob subscribes to alice first,
    then alice to bob; both end with 'both'."""
    a = login(raw, 'alice', 'a', server=srv, presence=True)
    b = login(raw, 'bob', 'b', server=srv, presence=True)
    handshake(b, a, 'bob', 'alice')
    handshake(a, b, 'alice', 'bob')
    assert sub_of(a, bare('bob')) == ('both', None)
    assert sub_of(b, bare('alice')) == ('both', None)


def test_handshake_user_first(raw, srv):
    """RFC 6121 3.1: alice subscribes first; bob's subscription back is
    answered the same way."""
    a = login(raw, 'alice', 'a', server=srv, presence=True)
    b = login(raw, 'bob', 'b', server=srv, presence=True)
    handshake(a, b, 'alice', 'bob')
    assert sub_of(a, bare('bob')) == ('to', None)
    assert sub_of(b, bare('alice')) == ('from', None)
    handshake(b, a, 'bob', 'alice')
    assert sub_of(a, bare('bob')) == ('both', None)


def test_request_to_offline_contact(raw, srv):
    """RFC 6121 3.1.3: a request to an offline contact is kept (also across
    a restart) and delivered after the contact's initial presence; the
    contact does not see it as a roster item meanwhile; approval works."""
    a = login(raw, 'alice', 'a', server=srv, presence=True)
    send_sub(a, bare('carol'), 'subscribe')
    next_push(a, bare('carol'))
    sync(a)
    a.close()
    assert srv.stop() == 0
    srv.start()
    a = login(raw, 'alice', 'a2', server=srv, presence=True)
    assert sub_of(a, bare('carol')) == ('none', 'subscribe')
    c = login(raw, 'carol', 'c', server=srv)
    assert bare('alice') not in roster_items(c)
    c.presence()
    req = next_presence(c, bare('alice'), 'subscribe')
    assert req.get('to') == bare('carol'), text_of(req)
    send_sub(c, bare('alice'), 'subscribed')
    next_presence(a, bare('carol'), 'subscribed')
    assert sub_of(a, bare('carol')) == ('to', None)
    assert sub_of(c, bare('alice')) == ('from', None)
    # answered: not delivered again at the next login
    c2 = login(raw, 'carol', 'c2', server=srv, presence=True)
    no_presence(c2, bare('alice'), 'subscribe')


def test_denied_request(raw, srv):
    """RFC 6121 3.2: 'unsubscribed' denies a pending request; the requester's
    item goes back to none without ask."""
    a = login(raw, 'alice', 'a', server=srv, presence=True)
    b = login(raw, 'bob', 'b', server=srv, presence=True)
    send_sub(a, bare('bob'), 'subscribe')
    next_presence(b, bare('alice'), 'subscribe')
    send_sub(b, bare('alice'), 'unsubscribed')
    next_presence(a, bare('bob'), 'unsubscribed')
    assert sub_of(a, bare('bob')) == ('none', None)
    assert bare('alice') not in roster_items(b)


def test_preapproval(raw, srv):
    """RFC 6121 3.4: the feature is advertised; 'subscribed' without a
    request pre-approves (item with approved='true', nothing sent); the
    later request is approved by the server and never shown to the user."""
    a = login(raw, 'alice', 'a', server=srv, presence=True)
    assert a.feature(NS_PREAPPROVAL, 'sub') is not None
    b = login(raw, 'bob', 'b', server=srv, presence=True)
    send_sub(a, bare('bob'), 'subscribed')
    item = push_item(next_push(a, bare('bob')))
    assert item.get('approved') == 'true', text_of(item)
    assert item.get('subscription') == 'none'
    no_presence(b, bare('alice'), 'subscribed', wait=0.5)
    send_sub(b, bare('alice'), 'subscribe')
    next_presence(b, bare('alice'), 'subscribed')
    next_presence(b, bare('alice'))    # alice's presence follows
    no_presence(a, bare('bob'), 'subscribe')
    assert sub_of(a, bare('bob')) == ('from', None)
    assert sub_of(b, bare('alice')) == ('to', None)


def subscribe_both(raw, srv):
    a = login(raw, 'alice', 'setup', server=srv, presence=True)
    b = login(raw, 'bob', 'setup', server=srv, presence=True)
    handshake(a, b, 'alice', 'bob')
    handshake(b, a, 'bob', 'alice')
    a.close()
    b.close()


def test_login_broadcast_probe_and_abrupt_close(raw, srv):
    """RFC 6121 4.2 and 4.3: bob's initial presence reaches alice (and bob's
    own resource), bob learns alice's presence through the probe; 4.5 /
    RFC 6120 4.4: when bob's TCP connection just drops, alice gets
    'unavailable' from bob's resource."""
    subscribe_both(raw, srv)
    a = login(raw, 'alice', 'home', server=srv)
    a.presence(extra='<status>at home</status>')
    sync(a)
    b = login(raw, 'bob', 'phone', server=srv)
    b.presence(priority=5)
    p = next_presence(a, bare('bob') + '/phone')
    assert p.findtext('{jabber:client}priority') == '5'
    p = next_presence(b, bare('alice') + '/home')
    assert p.findtext('{jabber:client}status') == 'at home'
    next_presence(b, bare('bob') + '/phone')    # its own, 4.2.2
    b.sock.close()    # no </stream:stream>
    next_presence(a, bare('bob') + '/phone', 'unavailable')


def test_second_resource_sees_first(raw, srv):
    """RFC 6121 4.2.2: a user's new resource gets the presence of the
    user's other available resources, which get the new one's."""
    a1 = login(raw, 'alice', 'r1', server=srv, presence=True)
    a2 = login(raw, 'alice', 'r2', server=srv, presence=True)
    next_presence(a2, bare('alice') + '/r1')
    next_presence(a1, bare('alice') + '/r2')


def test_no_presence_without_subscription(raw, srv):
    """RFC 6121 4.2.2: broadcast goes to contacts with 'from' or 'both'
    only; an item with 'none' gets nothing."""
    a = login(raw, 'alice', 'a', server=srv)
    roster_set(a, bare('bob'))
    b = login(raw, 'bob', 'b', server=srv, presence=True)
    a.presence()
    no_presence(b, bare('alice'))


def test_directed_presence_then_unavailable(raw, srv):
    """RFC 6121 4.6: directed presence reaches carol without a subscription,
    and alice going unavailable (abruptly) ends it for carol too."""
    c = login(raw, 'carol', 'c', server=srv, presence=True)
    a = login(raw, 'alice', 'a', server=srv, presence=True)
    a.send("<presence to='%s'><status>psst</status></presence>" % bare('carol'))
    p = next_presence(c, bare('alice') + '/a')
    assert p.findtext('{jabber:client}status') == 'psst'
    a.presence(priority=1)
    no_presence(c, bare('alice'), wait=0.5)   # broadcast is not for carol
    a.send("<presence type='unavailable'/>")
    next_presence(c, bare('alice') + '/a', 'unavailable')


def test_remove_item_ends_subscriptions(raw, srv):
    """RFC 6121 2.5.2: removing a 'both' contact sends unsubscribe and
    unsubscribed; the contact's roster is pushed with subscription none and
    the contact sees the user go unavailable."""
    subscribe_both(raw, srv)
    a = login(raw, 'alice', 'a', server=srv, presence=True)
    b = login(raw, 'bob', 'b', server=srv, presence=True)
    next_presence(b, bare('alice') + '/a')
    roster_set(a, bare('bob'), sub='remove')
    assert push_item(next_push(a, bare('bob'))).get('subscription') == \
        'remove'
    next_presence(b, bare('alice'), 'unsubscribe')
    next_presence(b, bare('alice'), 'unsubscribed')
    next_presence(b, bare('alice') + '/a', 'unavailable')
    assert sub_of(b, bare('alice')) == ('none', None)


def test_slixmpp_subscription(slix_for, srv):
    """RFC 6121 3.1 with slixmpp on both sides (automatic approval turned
    off): the request arrives as a subscribe event and the approval turns
    into subscription 'to' for the requester."""
    slix = slix_for(srv)

    async def body():
        a = await slix.client('alice', resource='slix')
        b = await slix.client('bob', resource='slix')
        for c in (a, b):
            c.auto_authorize = None
            c.auto_subscribe = False
            await c.get_roster(timeout=5)
        got = asyncio.get_running_loop().create_future()
        b.add_event_handler('presence_subscribe',
                            lambda p: got.done() or got.set_result(p))
        a.send_presence(pto=bare('bob'), ptype='subscribe')
        p = await asyncio.wait_for(got, 5)
        assert p['from'].bare == bare('alice')
        b.send_presence(pto=bare('alice'), ptype='subscribed')
        for _ in range(50):
            if a.client_roster[bare('bob')]['subscription'] == 'to':
                break
            await asyncio.sleep(0.1)
        assert a.client_roster[bare('bob')]['subscription'] == 'to'
    slix.run(body())
