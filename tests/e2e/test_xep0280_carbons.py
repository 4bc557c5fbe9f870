"""XEP-0280 (Message Carbons, urn:xmpp:carbons:2): enabling and disabling,
sent and received copies to a user's other carbons-enabled resources, the
eligibility rules of section 6, <private/> and the XEP-0334 <no-copy/>
hint, and the interplay with RFC 6121 delivery to bare JIDs."""

import asyncio
import itertools

import pytest

import magpie
from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of

NS_CARBONS = 'urn:xmpp:carbons:2'
NS_FORWARD = 'urn:xmpp:forward:0'
NS_HINTS = 'urn:xmpp:hints'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
MSG = q(NS_CLIENT, 'message')
MODULES = ['disco', 'ping', 'blocking', 'carbons']

# Fresh accounts for every test, so that no session of an earlier test
# (closing while the next one starts) takes part in bare-JID delivery.
POOL = {'cc%02d' % i: 'cc%02d-Secret-pw' % i for i in range(60)}
_pool = iter(sorted(POOL))
_ids = itertools.count(1)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """This file's shared server, with carbons (and blocking) loaded."""
    if not magpie.binaries_present():
        pytest.skip('magpied not built in %s' % magpie.BUILDDIR)
    srv = magpie.MagpieServer(tmp_path_factory.mktemp('magpie'),
                              modules=MODULES)
    srv.add_users(dict(magpie.USERS, **POOL))
    srv.start()
    yield srv
    srv.check_stopped_cleanly()


@pytest.fixture
def users():
    """Two accounts no other test uses: (alice, bob)."""
    return next(_pool), next(_pool)


# ---- helpers -------------------------------------------------------------

def bare(user):
    return '%s@%s' % (user, DOMAIN)


def full(user, resource):
    return '%s/%s' % (bare(user), resource)


def sync(c):
    """A round trip: everything c sent before has been processed."""
    c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)


def enable(c):
    res = c.iq("<enable xmlns='%s'/>" % NS_CARBONS, 'set')
    assert res.get('type') == 'result', text_of(res)
    return res


def disable(c):
    res = c.iq("<disable xmlns='%s'/>" % NS_CARBONS, 'set')
    assert res.get('type') == 'result', text_of(res)
    return res


def online(raw, user, resource, *, priority=None, carbons=True,
           available=True):
    """A bound raw client; carbons enabled and available unless told."""
    c = raw()
    c.login(user, POOL.get(user) or magpie.USERS[user], resource=resource)
    if carbons:
        enable(c)
    if available:
        c.presence(priority)
        sync(c)
    return c


def send(c, to, id_=None, *, type_='chat', body='hello', extra=''):
    """Sends a message; returns its id."""
    id_ = id_ or 'm%d' % next(_ids)
    t = " type='%s'" % type_ if type_ is not None else ''
    b = '<body>%s</body>' % body if body is not None else ''
    c.send("<message to='%s' id='%s'%s>%s%s</message>" %
           (to, id_, t, b, extra))
    return id_


def messages(c, wait=1.0):
    """Every message that arrives within wait seconds."""
    return [e for e in c.elements_for(wait) if e.tag == MSG]


def carbon_parts(m):
    """(kind, forwarded message) of a carbon, or (None, None)."""
    for kind in ('sent', 'received'):
        w = m.find(q(NS_CARBONS, kind))
        if w is not None:
            f = w.find(q(NS_FORWARD, 'forwarded'))
            inner = f.find(MSG) if f is not None else None
            return kind, inner
    return None, None


def originals_with_id(msgs, id_):
    return [m for m in msgs if m.get('id') == id_ and
            carbon_parts(m)[0] is None]


def carbons_of(msgs, id_):
    """The carbons among msgs whose forwarded message has id_."""
    out = []
    for m in msgs:
        kind, inner = carbon_parts(m)
        if kind is not None and inner is not None and inner.get('id') == id_:
            out.append(m)
    return out


def only_carbon(c, id_, kind, wait=1.0):
    """Asserts that c receives exactly one carbon (and nothing else) of
    the message id_; returns (wrapper, forwarded message)."""
    msgs = messages(c, wait)
    cs = carbons_of(msgs, id_)
    assert len(cs) == 1 and len(msgs) == 1, [text_of(m) for m in msgs]
    got, inner = carbon_parts(cs[0])
    assert got == kind, text_of(cs[0])
    return cs[0], inner


def nothing(c, wait=1.0):
    msgs = messages(c, wait)
    assert msgs == [], [text_of(m) for m in msgs]


def only_original(c, id_, wait=1.0):
    msgs = messages(c, wait)
    assert len(msgs) == 1 and len(originals_with_id(msgs, id_)) == 1, \
        [text_of(m) for m in msgs]
    return msgs[0]


# ---- discovery, enabling, disabling ---------------------------------------

def test_feature_advertised(raw):
    """XEP-0280 section 3: the server's disco#info lists
    urn:xmpp:carbons:2."""
    c = raw.logged_in('alice')
    res = c.iq("<query xmlns='%s'/>" % NS_DISCO_INFO, to=DOMAIN)
    assert res.get('type') == 'result', text_of(res)
    feats = [f.get('var') for f in res.iter(q(NS_DISCO_INFO, 'feature'))]
    assert NS_CARBONS in feats


def test_enable_disable_repeatable(raw, users):
    """XEP-0280 sections 4, 5 and 10.1: <enable/> and <disable/> get an
    empty result, also when repeated; they may be sent to the user's own
    bare JID."""
    a, _ = users
    c = online(raw, a, 'desk', carbons=False, available=False)
    for body in ('enable', 'enable', 'disable', 'disable', 'enable'):
        res = c.iq("<%s xmlns='%s'/>" % (body, NS_CARBONS), 'set')
        assert res.get('type') == 'result' and len(list(res)) == 0, \
            text_of(res)
    res = c.iq("<disable xmlns='%s'/>" % NS_CARBONS, 'set', to=bare(a))
    assert res.get('type') == 'result', text_of(res)


def test_enable_for_another_user_refused(raw, users):
    """XEP-0280 section 4: carbons are a setting of the requesting client;
    an <enable/> addressed to another user's JID is not taken (RFC 6120
    8.3.3.19 service-unavailable), nor is an iq-get."""
    a, b = users
    c = online(raw, a, 'desk', carbons=False, available=False)
    res = c.iq("<enable xmlns='%s'/>" % NS_CARBONS, 'set', to=bare(b))
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'service-unavailable', text_of(res)
    res = c.iq("<enable xmlns='%s'/>" % NS_CARBONS, 'get')
    assert res.get('type') == 'error', text_of(res)


# ---- sent carbons ----------------------------------------------------------

def test_sent_carbon(raw, users):
    """XEP-0280 section 8: a message a client sends is copied to the
    user's other carbons-enabled resources, wrapped in <sent/><forwarded/>,
    from the user's bare JID to the resource's full JID, with the same
    type; the forwarded message carries the sender's full JID. The
    sending client gets no copy; the recipient gets the original."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bob = online(raw, b, 'home', carbons=False)
    id_ = send(desk, full(b, 'home'), body='to bob')
    m, inner = only_carbon(phone, id_, 'sent')
    assert m.get('from') == bare(a), text_of(m)
    assert m.get('to') == full(a, 'phone'), text_of(m)
    assert m.get('type') == 'chat', text_of(m)
    assert inner.get('from') == full(a, 'desk'), text_of(m)
    assert inner.get('to') == full(b, 'home'), text_of(m)
    assert inner.findtext(q(NS_CLIENT, 'body')) == 'to bob', text_of(m)
    only_original(bob, id_)
    nothing(desk, 0.3)


def test_sent_carbon_even_if_sender_did_not_enable(raw, users):
    """XEP-0280 section 8: copies go out "irrespective of whether the
    sending client has carbons enabled"; a message to a bare JID is
    copied too, and a message without type keeps no type on the copy."""
    a, b = users
    desk = online(raw, a, 'desk', carbons=False)
    phone = online(raw, a, 'phone')
    bob = online(raw, b, 'home', carbons=False)
    id_ = send(desk, bare(b), type_=None)
    m, inner = only_carbon(phone, id_, 'sent')
    assert m.get('type') is None, text_of(m)
    assert inner.get('to') == bare(b), text_of(m)
    only_original(bob, id_)


def test_sent_carbon_only_to_enabled_available(raw, users):
    """XEP-0280 sections 5 and 8: a resource that never enabled carbons,
    one that disabled them and one that is no longer available get no
    copy; the enabled one does."""
    a, b = users
    desk = online(raw, a, 'desk')
    never = online(raw, a, 'never', carbons=False)
    off = online(raw, a, 'off')
    disable(off)
    gone = online(raw, a, 'gone')
    gone.send("<presence type='unavailable'/>")
    sync(gone)
    on = online(raw, a, 'on')
    online(raw, b, 'home', carbons=False)
    id_ = send(desk, full(b, 'home'))
    only_carbon(on, id_, 'sent')
    for c in (never, off, gone):
        nothing(c, 0.3)


def test_sent_to_unknown_user_not_copied(raw, users):
    """XEP-0280 section 8 with RFC 6121 8.5.1: a message the server bounces
    because the local recipient does not exist was not sent, and is not
    copied; the sender gets the <service-unavailable/> error."""
    a, _ = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    id_ = send(desk, bare('nosuchuser'))
    e = desk.wait_for(lambda e: e.tag == MSG and e.get('id') == id_, 5,
                      'error reply')
    assert e.get('type') == 'error' and \
        error_condition(e) == 'service-unavailable', text_of(e)
    nothing(phone, 0.5)


# ---- received carbons ------------------------------------------------------

def test_received_carbon_full_jid(raw, users):
    """XEP-0280 section 7: a message to one full JID is copied, wrapped in
    <received/><forwarded/>, to the user's other carbons-enabled resources;
    the addressed resource gets only the original."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bob = online(raw, b, 'home', carbons=False)
    id_ = send(bob, full(a, 'desk'), body='to desk')
    m, inner = only_carbon(phone, id_, 'received')
    assert m.get('from') == bare(a), text_of(m)
    assert m.get('to') == full(a, 'phone'), text_of(m)
    assert m.get('type') == 'chat', text_of(m)
    assert inner.get('from') == full(b, 'home'), text_of(m)
    assert inner.get('to') == full(a, 'desk'), text_of(m)
    assert inner.findtext(q(NS_CLIENT, 'body')) == 'to desk', text_of(m)
    only_original(desk, id_)
    nothing(bob, 0.3)


def test_bare_jid_equal_priorities(raw, users):
    """XEP-0280 section 7 with RFC 6121 8.5.2.1.1: a message to the bare
    JID reaches every resource of the top (equal) priority; each got the
    original, so none gets a copy."""
    a, b = users
    desk = online(raw, a, 'desk', priority=1)
    phone = online(raw, a, 'phone', priority=1)
    bob = online(raw, b, 'home', carbons=False)
    id_ = send(bob, bare(a))
    only_original(desk, id_)
    only_original(phone, id_, 0.3)


def test_bare_jid_lower_priorities_get_copies(raw, users):
    """XEP-0280 section 7: resources that RFC 6121 delivery passes over (a
    lower or a negative priority) get a received carbon when enabled; the
    top-priority resource gets the original only; a lower-priority
    resource without carbons gets nothing."""
    a, b = users
    desk = online(raw, a, 'desk', priority=5)
    phone = online(raw, a, 'phone', priority=0)
    away = online(raw, a, 'away', priority=-1)
    plain = online(raw, a, 'plain', priority=0, carbons=False)
    bob = online(raw, b, 'home', carbons=False)
    id_ = send(bob, bare(a))
    only_original(desk, id_)
    for c, res in ((phone, 'phone'), (away, 'away')):
        m, inner = only_carbon(c, id_, 'received', 0.5)
        assert m.get('to') == full(a, res), text_of(m)
        assert inner.get('to') == bare(a), text_of(m)
    nothing(plain, 0.3)


def test_unknown_resource_falls_back_to_bare(raw, users):
    """XEP-0280 section 7 with RFC 6121 8.5.3.2.1: a chat message to a
    resource that is not online is delivered as if to the bare JID, and
    the copies follow that delivery (one copy or original per resource)."""
    a, b = users
    desk = online(raw, a, 'desk', priority=5)
    phone = online(raw, a, 'phone', priority=0)
    bob = online(raw, b, 'home', carbons=False)
    id_ = send(bob, full(a, 'gone'))
    only_original(desk, id_)
    only_carbon(phone, id_, 'received')


def test_received_not_copied_to_disabled(raw, users):
    """XEP-0280 section 5: after <disable/>, a resource gets no more
    copies; after a new <enable/> it does again."""
    a, b = users
    online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bob = online(raw, b, 'home', carbons=False)
    disable(phone)
    nothing(phone, 0.1)
    id_ = send(bob, full(a, 'desk'))
    nothing(phone, 0.7)
    enable(phone)
    id_ = send(bob, full(a, 'desk'))
    only_carbon(phone, id_, 'received')


# ---- eligibility -----------------------------------------------------------

@pytest.mark.parametrize('extra', [
    "<private xmlns='%s'/>" % NS_CARBONS,
    "<no-copy xmlns='%s'/>" % NS_HINTS,
    "<private xmlns='%s'/><no-copy xmlns='%s'/>" % (NS_CARBONS, NS_HINTS),
    "<x xmlns='urn:example'/><private xmlns='%s'/><private xmlns='%s'/>" %
    (NS_CARBONS, NS_CARBONS),
])
def test_private_and_no_copy_not_copied(raw, users, extra):
    """XEP-0280 section 9 and XEP-0334 <no-copy/>: such a message is copied
    neither to the sender's nor to the recipient's other resources; the
    recipient's server removes <private/> (section 9) and leaves the
    hint."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bhome = online(raw, b, 'home')
    bwork = online(raw, b, 'work')
    id_ = send(desk, full(b, 'home'), extra=extra)
    m = only_original(bhome, id_)
    assert m.find(q(NS_CARBONS, 'private')) is None, text_of(m)
    assert (m.find(q(NS_HINTS, 'no-copy')) is not None) == \
        ('no-copy' in extra), text_of(m)
    nothing(phone, 0.3)
    nothing(bwork, 0.3)


def test_private_stripped_on_bare_delivery(raw, users):
    """XEP-0280 section 9: <private/> is also removed from a message to the
    bare JID, which every top-priority resource gets as the original (the
    Note of section 9); the lower-priority one gets no copy."""
    a, b = users
    desk = online(raw, a, 'desk')
    bhome = online(raw, b, 'home', priority=1)
    bwork = online(raw, b, 'work', priority=1)
    blow = online(raw, b, 'low', priority=0)
    id_ = send(desk, bare(b), extra="<private xmlns='%s'/>" % NS_CARBONS)
    for c in (bhome, bwork):
        m = only_original(c, id_)
        assert m.find(q(NS_CARBONS, 'private')) is None, text_of(m)
    nothing(blow, 0.3)


@pytest.mark.parametrize('type_', ['headline', 'groupchat', 'error'])
def test_non_im_types_not_copied(raw, users, type_):
    """XEP-0280 section 6: headline, groupchat and error messages are not
    copied, sent or received; the addressed resource still gets them."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bhome = online(raw, b, 'home')
    bwork = online(raw, b, 'work')
    id_ = send(desk, full(b, 'home'), type_=type_)
    only_original(bhome, id_)
    nothing(phone, 0.3)
    nothing(bwork, 0.3)


def test_normal_needs_body_or_im_payload(raw, users):
    """XEP-0280 section 6: a normal message is copied when it has a body
    or an IM payload (a XEP-0184 receipt, a XEP-0333 marker); one with
    neither (such as a bare XEP-0224 attention or a custom payload) is
    not."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bob = online(raw, b, 'home', carbons=False)
    empty = send(bob, full(a, 'desk'), type_='normal', body=None,
                 extra="<x xmlns='urn:example:custom'/>")
    nothing(phone, 0.7)
    for extra, body, type_ in (
            ('', 'with a body', 'normal'),
            ("<received xmlns='urn:xmpp:receipts' id='x1'/>", None, None),
            ("<displayed xmlns='urn:xmpp:chat-markers:0' id='x1'/>", None,
             'normal'),
            ("<composing xmlns='http://jabber.org/protocol/chatstates'/>",
             None, 'chat')):
        id_ = send(bob, full(a, 'desk'), type_=type_, body=body, extra=extra)
        only_carbon(phone, id_, 'received')
    got = [m.get('id') for m in messages(desk, 0.3)]
    assert empty in got and len(got) == 5, got


def test_carbon_never_copied_again(raw, users):
    """XEP-0280 section 6 and 11: a message that already is a carbon (or
    poses as one) is never wrapped into another copy, neither sent nor
    received."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bhome = online(raw, b, 'home')
    bwork = online(raw, b, 'work')
    fake = ("<%s xmlns='%s'><forwarded xmlns='%s'><message xmlns='%s' "
            "from='x@example.org/r' to='%s' type='chat'><body>x</body>"
            "</message></forwarded></%s>")
    id1 = send(desk, full(b, 'home'), body=None,
               extra=fake % ('sent', NS_CARBONS, NS_FORWARD, NS_CLIENT,
                             full(b, 'home'), 'sent'))
    id2 = send(bhome, full(a, 'desk'), body=None,
               extra=fake % ('received', NS_CARBONS, NS_FORWARD, NS_CLIENT,
                             full(a, 'desk'), 'received'))
    for c, id_, frm in ((bhome, id1, full(a, 'desk')),
                        (desk, id2, full(b, 'home'))):
        msgs = messages(c)
        assert [(m.get('id'), m.get('from')) for m in msgs] == \
            [(id_, frm)], [text_of(m) for m in msgs]
    nothing(phone, 0.3)
    nothing(bwork, 0.3)


def test_muc_rules(raw, users):
    """XEP-0280 section 6, MUC rules: a private message received from a
    room occupant (marked with muc#user <x/>) is not copied; one the user
    sends to an occupant is; a XEP-0249 invitation is copied even as a
    normal message without body."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bob = online(raw, b, 'home', carbons=False)
    mucx = "<x xmlns='http://jabber.org/protocol/muc#user'/>"
    pm_in = send(bob, full(a, 'desk'), extra=mucx)
    only_original(desk, pm_in)
    nothing(phone, 0.5)
    pm_out = send(desk, full(b, 'home'), extra=mucx)
    only_carbon(phone, pm_out, 'sent')
    invite = send(bob, full(a, 'desk'), type_=None, body=None,
                  extra="<x xmlns='jabber:x:conference' "
                        "jid='room@conference.example.org'/>")
    only_carbon(phone, invite, 'received')


def test_messages_to_own_account(raw, users):
    """XEP-0280 sections 7 and 8 for a message to the user's own JID: the
    receiving rules alone apply, so every resource gets the message once
    (original or copy) and the sending client gets no copy."""
    a, _ = users
    desk = online(raw, a, 'desk', priority=1)
    phone = online(raw, a, 'phone', priority=1)
    tab = online(raw, a, 'tab', priority=-1)
    note = send(desk, full(a, 'phone'), body='note')
    only_original(phone, note)
    only_carbon(tab, note, 'received', 0.3)
    nothing(desk, 0.3)
    memo = send(desk, bare(a), body='memo')
    only_original(phone, memo)
    only_original(desk, memo, 0.3)   # the top priority includes desk
    only_carbon(tab, memo, 'received', 0.3)


def test_blocked_messages_not_copied(raw, users):
    """XEP-0280 with XEP-0191: a message the blocking policy stops is
    neither sent nor received, so no resource gets a copy of it."""
    a, b = users
    desk = online(raw, a, 'desk')
    phone = online(raw, a, 'phone')
    bob = online(raw, b, 'home')
    res = desk.iq("<block xmlns='urn:xmpp:blocking'><item jid='%s'/>"
                  "</block>" % bare(b), 'set')
    assert res.get('type') == 'result', text_of(res)
    out = send(desk, full(b, 'home'))
    e = desk.wait_for(lambda e: e.tag == MSG and e.get('id') == out, 5,
                      'blocked error')
    assert e.get('type') == 'error', text_of(e)
    send(bob, full(a, 'desk'))
    sync(bob)
    nothing(phone, 0.7)


# ---- slixmpp ---------------------------------------------------------------

def test_slixmpp_carbons(slix, users):
    """XEP-0280 sections 4, 7 and 8 with a real client library: slixmpp's
    xep_0280 enables carbons and raises carbon_sent and carbon_received
    for the copies, which it accepts only from the user's bare JID
    (section 11)."""
    a, b = users

    async def body():
        desk = await slix.client(a, POOL[a], resource='desk',
                                 plugins=['xep_0280'])
        phone = await slix.client(a, POOL[a], resource='phone',
                                  plugins=['xep_0280'])
        bob = await slix.client(b, POOL[b], resource='home')
        await desk['xep_0280'].enable(timeout=5)
        await phone['xep_0280'].enable(timeout=5)
        sent, received = asyncio.Queue(), asyncio.Queue()
        phone.add_event_handler('carbon_sent', sent.put_nowait)
        phone.add_event_handler('carbon_received', received.put_nowait)
        desk.send_message(mto=full(b, 'home'), mbody='from desk',
                          mtype='chat')
        m = await asyncio.wait_for(sent.get(), 5)
        fwd = m['carbon_sent']
        assert fwd['body'] == 'from desk'
        assert fwd['from'] == full(a, 'desk')
        got = await bob.next_message(type_='chat')
        assert got['body'] == 'from desk'
        bob.send_message(mto=full(a, 'desk'), mbody='from bob', mtype='chat')
        m = await asyncio.wait_for(received.get(), 5)
        fwd = m['carbon_received']
        assert fwd['body'] == 'from bob'
        assert fwd['from'] == full(b, 'home')
        got = await desk.next_message(type_='chat')
        assert got['body'] == 'from bob'
        while not phone.messages.empty():
            phone.messages.get_nowait()
        await phone['xep_0280'].disable(timeout=5)
        bob.send_message(mto=full(a, 'desk'), mbody='again', mtype='chat')
        await desk.next_message(type_='chat')
        await phone.sync()
        assert received.empty() and sent.empty()
        await phone.no_message(0.5)

    slix.run(body())
