"""XEP-0191 (Blocking Command): the blocklist, the block and unblock
commands with their pushes, and the server's enforcement in both
directions, by JID matching rules of the XEP's "JID Matching" section."""

import time

import pytest

import magpie
from magpie import DOMAIN
from rawxmpp import NS_CLIENT, NS_STANZAS, error_condition, q, text_of

NS_BLOCKING = 'urn:xmpp:blocking'
NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors'
MSG = q(NS_CLIENT, 'message')
IQ = q(NS_CLIENT, 'iq')
PRESENCE = q(NS_CLIENT, 'presence')
MODULES = ['disco', 'ping', 'blocking']


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """This file's shared server, with the blocking module loaded."""
    if not magpie.binaries_present():
        pytest.skip('magpied not built in %s' % magpie.BUILDDIR)
    srv = magpie.MagpieServer(tmp_path_factory.mktemp('magpie'),
                              modules=MODULES)
    srv.add_users()
    srv.start()
    yield srv
    srv.check_stopped_cleanly()


# ---- helpers -------------------------------------------------------------

def full(user, resource):
    return '%s@%s/%s' % (user, DOMAIN, resource)


def bare(user):
    return '%s@%s' % (user, DOMAIN)


def sync(c):
    """A round trip: everything c sent before has been processed."""
    c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)


def online(raw, user, resource, available=True, server=None, reset=False):
    c = raw.logged_in(user, resource=resource, server=server)
    if reset:
        res = c.iq("<unblock xmlns='%s'/>" % NS_BLOCKING, 'set')
        assert res.get('type') == 'result', text_of(res)
    if available:
        c.presence()
        sync(c)
    return c


def items_xml(jids):
    return ''.join("<item jid='%s'/>" % j for j in jids)


def block(c, *jids):
    return c.iq("<block xmlns='%s'>%s</block>" % (NS_BLOCKING,
                                                  items_xml(jids)), 'set')


def unblock(c, *jids):
    return c.iq("<unblock xmlns='%s'>%s</unblock>" % (NS_BLOCKING,
                                                      items_xml(jids)), 'set')


def blocklist(c):
    res = c.iq("<blocklist xmlns='%s'/>" % NS_BLOCKING)
    assert res.get('type') == 'result', text_of(res)
    bl = res.find(q(NS_BLOCKING, 'blocklist'))
    assert bl is not None, text_of(res)
    return sorted(i.get('jid') for i in bl.findall(q(NS_BLOCKING, 'item')))


def ok(res):
    assert res.get('type') == 'result', text_of(res)
    return res


def error_of(res, condition, type_=None):
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == condition, text_of(res)
    if type_ is not None:
        assert res.find(q(NS_CLIENT, 'error')).get('type') == type_, \
            text_of(res)
    return res


def is_push(e, name):
    return (e.tag == IQ and e.get('type') == 'set' and
            e.find(q(NS_BLOCKING, name)) is not None)


def push_items(e, name):
    return sorted(i.get('jid') for i in
                  e.find(q(NS_BLOCKING, name)).findall(q(NS_BLOCKING,
                                                         'item')))


def silent(c, wait=1.0, tags=(MSG, IQ, PRESENCE), what=None):
    """Asserts that no stanza of those kinds (and matching what, when
    given) arrives within wait seconds."""
    for e in c.elements_for(wait):
        if e.tag in tags and (what is None or what(e)):
            raise AssertionError('unexpected stanza: %s' % text_of(e))


def send_msg(c, to, id_, body='hello', type_='chat'):
    c.send("<message to='%s' type='%s' id='%s'><body>%s</body></message>"
           % (to, type_, id_, body))


def next_with_id(c, tag, id_, timeout=5.0):
    return c.wait_for(lambda e: e.tag == tag and e.get('id') == id_,
                      timeout, '%s id=%s' % (tag, id_))


def expect_blocked(c, tag, id_, frm):
    """XEP-0191 "User Blocks Contact": <not-acceptable/> with the
    application condition <blocked/>, from the blocked address."""
    e = next_with_id(c, tag, id_)
    error_of(e, 'not-acceptable', 'cancel')
    assert e.get('from') == frm, text_of(e)
    err = e.find(q(NS_CLIENT, 'error'))
    assert err.find(q(NS_BLOCKING_ERRORS, 'blocked')) is not None, text_of(e)
    return e


# ---- the list and the commands -------------------------------------------

def test_feature_advertised(raw):
    """XEP-0191 "User Discovers Support": the server's disco#info lists
    urn:xmpp:blocking."""
    c = raw.logged_in('alice')
    res = ok(c.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>",
                  to=DOMAIN))
    feats = [f.get('var') for f in res.iter(
        q('http://jabber.org/protocol/disco#info', 'feature'))]
    assert NS_BLOCKING in feats


def test_empty_blocklist(raw):
    """XEP-0191 "User Retrieves Block List": no blocked contacts gives an
    empty <blocklist/>."""
    c = online(raw, 'carol', 'e1', reset=True)
    assert blocklist(c) == []


def test_block_then_get(raw):
    """XEP-0191 "User Blocks Contact" and "User Retrieves Block List": the
    result is empty, the list then holds the prepared JIDs (RFC 7622),
    once each, several items per command allowed."""
    c = online(raw, 'alice', 'g1', reset=True)
    res = ok(block(c, 'Bob@LOCALHOST', 'iago@shakespeare.example',
                   'bob@localhost'))
    assert len(list(res)) == 0, text_of(res)
    assert blocklist(c) == ['bob@localhost', 'iago@shakespeare.example']
    ok(block(c, 'bob@localhost'))
    assert blocklist(c) == ['bob@localhost', 'iago@shakespeare.example']


def test_block_without_items_is_bad_request(raw):
    """XEP-0191 "User Blocks Contact": a <block/> without <item/> gets
    <bad-request/>; so does an item without a jid."""
    c = online(raw, 'alice', 'br1', reset=True)
    error_of(block(c), 'bad-request', 'modify')
    error_of(c.iq("<block xmlns='%s'><item/></block>" % NS_BLOCKING, 'set'),
             'bad-request')
    assert blocklist(c) == []


@pytest.mark.parametrize('jid', ['@localhost', 'bob@', 'a@b@c', 'bob@/r',
                                 'bob@localhost/', 'x' * 1100 + '@localhost'])
def test_malformed_jid(raw, jid):
    """XEP-0191 "User Blocks Contact" (other stanza errors apply) and RFC
    6120 8.3.3.8: a malformed JID gets <jid-malformed/> and nothing of the
    command is stored, neither for block nor for unblock."""
    c = online(raw, 'alice', 'm1', available=False, reset=True)
    error_of(block(c, 'bob@localhost', jid), 'jid-malformed', 'modify')
    assert blocklist(c) == []
    error_of(unblock(c, jid), 'jid-malformed')


def test_jid_too_long_to_store(raw):
    """A valid JID longer than the store's keys allow is refused with
    <not-acceptable/>, not an internal error."""
    c = online(raw, 'alice', 'tl1', available=False, reset=True)
    jid = 'x' * 600 + '@localhost'
    error_of(block(c, jid), 'not-acceptable', 'modify')
    assert blocklist(c) == []


def test_block_needs_to_be_a_set_to_self(raw):
    """XEP-0191: the commands are iq-sets to the user's own account; an
    iq-get <block/> or a <block/> sent to another user is refused with
    service-unavailable (RFC 6120 8.3.3.19), and stores nothing."""
    c = online(raw, 'alice', 's1', available=False, reset=True)
    error_of(c.iq("<block xmlns='%s'><item jid='bob@localhost'/></block>"
                  % NS_BLOCKING, 'get'), 'service-unavailable')
    error_of(c.iq("<block xmlns='%s'><item jid='carol@localhost'/></block>"
                  % NS_BLOCKING, 'set', to=bare('bob')),
             'service-unavailable')
    assert blocklist(c) == []


def test_pushes_only_to_resources_that_asked(raw):
    """XEP-0191 "User Blocks Contact", "User Unblocks Contact" and "User
    Unblocks All Contacts": the server sends an iq-set to every resource
    that requested the blocklist (the one sending the command too), and to
    no other."""
    one = online(raw, 'alice', 'p1', reset=True)
    two = online(raw, 'alice', 'p2')
    three = online(raw, 'alice', 'p3')
    blocklist(one)
    blocklist(three)
    ok(block(one, 'bob@localhost', 'carol@localhost'))
    for c, res in ((one, 'p1'), (three, 'p3')):
        p = c.wait_for(lambda e: is_push(e, 'block'), 5, 'block push')
        assert push_items(p, 'block') == ['bob@localhost', 'carol@localhost']
        assert p.get('to') == full('alice', res), text_of(p)
        assert p.get('from') in (None, bare('alice')), text_of(p)
        assert p.get('id'), text_of(p)
    silent(two, 1.0, (IQ,))

    ok(unblock(three, 'carol@localhost'))
    for c in (one, three):
        p = c.wait_for(lambda e: is_push(e, 'unblock'), 5, 'unblock push')
        assert push_items(p, 'unblock') == ['carol@localhost']
    silent(two, 0.5, (IQ,))
    assert blocklist(two) == ['bob@localhost']

    # two asked for the list just now: it gets the next push too.
    ok(unblock(one))
    for c in (one, two, three):
        p = c.wait_for(lambda e: is_push(e, 'unblock'), 5, 'unblock-all push')
        assert push_items(p, 'unblock') == []
    assert blocklist(one) == []


def test_unblock_one_and_all(raw):
    """XEP-0191 "User Unblocks Contact" and "User Unblocks All Contacts":
    unblocking removes only the named JIDs; an empty <unblock/> empties
    the list; unblocking what is not blocked is no error."""
    c = online(raw, 'alice', 'u1', available=False, reset=True)
    ok(block(c, 'bob@localhost', 'carol@localhost', 'example.net'))
    ok(unblock(c, 'Carol@localhost', 'nobody@example.org'))
    assert blocklist(c) == ['bob@localhost', 'example.net']
    ok(unblock(c))
    assert blocklist(c) == []


def test_lists_are_per_user(raw):
    """XEP-0191: the blocklist is the user's own; another account's list
    is unaffected."""
    a = online(raw, 'alice', 'pu1', available=False, reset=True)
    b = online(raw, 'bob', 'pu2', available=False, reset=True)
    ok(block(a, 'carol@localhost'))
    assert blocklist(b) == []
    assert blocklist(a) == ['carol@localhost']


# ---- enforcement ---------------------------------------------------------

def test_blocked_contact_messages_dropped(raw):
    """XEP-0191 "User Blocks Contact": no stanza from the blocked contact
    reaches the user; messages (to the bare and to the full JID) and
    presence are dropped without an error to the sender. Unblocked, they
    are delivered again."""
    a = online(raw, 'alice', 'd1', reset=True)
    b = online(raw, 'bob', 'd2', reset=True)
    ok(block(a, 'bob@localhost'))
    send_msg(b, bare('alice'), 'bm1')
    send_msg(b, full('alice', 'd1'), 'bm2')
    b.send("<message to='%s' type='headline' id='bm3'><body>x</body>"
           "</message>" % bare('alice'))
    b.send("<presence to='%s' id='bp1'/>" % full('alice', 'd1'))
    b.send("<presence to='%s' type='subscribe' id='bp2'/>" % bare('alice'))
    sync(b)
    silent(a, 1.0)
    silent(b, 0.5)
    ok(unblock(a, 'bob@localhost'))
    send_msg(b, bare('alice'), 'bm4')
    assert next_with_id(a, MSG, 'bm4').get('from') == full('bob', 'd2')


def test_bounce_messages_option(server_factory, raw):
    """XEP-0191 "User Blocks Contact" (version 1.1 suggests
    <service-unavailable/> for messages): with blocking.bounce_messages the
    blocked contact's chat message is answered so; presence still is
    not."""
    srv = server_factory({'blocking': {'bounce_messages': True}},
                         modules=MODULES)
    a = online(raw, 'alice', 'bo1', server=srv)
    b = online(raw, 'bob', 'bo2', server=srv)
    ok(block(a, 'bob@localhost'))
    send_msg(b, bare('alice'), 'bb1')
    e = next_with_id(b, MSG, 'bb1')
    error_of(e, 'service-unavailable')
    assert e.get('from') == bare('alice'), text_of(e)
    assert e.find(q(NS_CLIENT, 'error')).find(
        q(NS_BLOCKING_ERRORS, 'blocked')) is None, text_of(e)
    b.send("<presence to='%s' id='bbp'/>" % bare('alice'))
    sync(b)
    silent(a, 0.5)
    silent(b, 0.5, (PRESENCE, MSG))


def test_blocked_messages_not_stored_offline(server_factory, raw):
    """XEP-0191 "User Blocks Contact" with XEP-0160 offline storage: a
    blocked contact's message to the offline user is not stored (the user
    never gets it, the sender no error), while another contact's is; the
    blocked contact's vCard request is refused like any iq."""
    srv = server_factory(modules=MODULES + ['offline', 'vcard'])
    a = online(raw, 'alice', 'of1', server=srv)
    ok(block(a, 'bob@localhost'))
    a.close()
    b = online(raw, 'bob', 'of2', server=srv)
    c = online(raw, 'carol', 'of3', server=srv)
    send_msg(b, bare('alice'), 'ofb')
    send_msg(c, bare('alice'), 'ofc')
    error_of(b.iq("<vCard xmlns='vcard-temp'/>", to=bare('alice')),
             'service-unavailable')
    ok(c.iq("<vCard xmlns='vcard-temp'/>", to=bare('alice')))
    sync(b)
    sync(c)
    silent(b, 0.5, (MSG,))
    a = online(raw, 'alice', 'of4', server=srv, available=False)
    a.presence()
    got = next_with_id(a, MSG, 'ofc')
    assert got.get('from') == full('carol', 'of3')
    silent(a, 1.0, (MSG,))


def test_user_messages_to_blocked_contact_refused(raw):
    """XEP-0191 "User Blocks Contact": the user's message, iq and directed
    presence to a blocked contact are not routed; each comes back as
    <not-acceptable/> with <blocked xmlns='urn:xmpp:blocking:errors'/>."""
    a = online(raw, 'alice', 'o1', reset=True)
    b = online(raw, 'bob', 'o2', reset=True)
    ok(block(a, 'bob@localhost'))
    p = b.wait_for(lambda e: e.tag == PRESENCE, 5, 'unavailable presence')
    assert p.get('type') == 'unavailable', text_of(p)
    send_msg(a, bare('bob'), 'om1', 'Can you hear me now?')
    e = expect_blocked(a, MSG, 'om1', bare('bob'))
    assert e.find(q(NS_CLIENT, 'body')).text == 'Can you hear me now?'
    send_msg(a, full('bob', 'o2'), 'om2')
    expect_blocked(a, MSG, 'om2', full('bob', 'o2'))
    a.send("<iq type='get' id='oi1' to='%s'><query xmlns='jabber:iq:version'"
           "/></iq>" % full('bob', 'o2'))
    expect_blocked(a, IQ, 'oi1', full('bob', 'o2'))
    a.send("<iq type='get' id='oi2' to='%s'><query xmlns='http://jabber.org/"
           "protocol/disco#info'/></iq>" % bare('bob'))
    expect_blocked(a, IQ, 'oi2', bare('bob'))
    a.send("<presence id='op1' to='%s'/>" % full('bob', 'o2'))
    expect_blocked(a, PRESENCE, 'op1', full('bob', 'o2'))
    # An error stanza is never answered (RFC 6120 8.3.1), just not routed.
    a.send("<message type='error' id='oe1' to='%s'><error type='cancel'>"
           "<item-not-found xmlns='%s'/></error></message>"
           % (full('bob', 'o2'), NS_STANZAS))
    sync(a)
    silent(b, 1.0)
    silent(a, 0.3, (MSG, IQ))


def test_iq_from_blocked_contact_service_unavailable(raw):
    """XEP-0191 "User Blocks Contact": an iq get or set from the blocked
    contact gets <service-unavailable/> (to the full JID, and to the bare
    JID where the server would have answered for the user); a result is
    dropped. The user sees none of them."""
    a = online(raw, 'alice', 'i1', reset=True)
    b = online(raw, 'bob', 'i2', reset=True)
    ok(block(a, 'bob@localhost'))
    for type_, id_ in (('get', 'bi1'), ('set', 'bi2')):
        b.send("<iq type='%s' id='%s' to='%s'><query xmlns='jabber:iq:"
               "version'/></iq>" % (type_, id_, full('alice', 'i1')))
        e = next_with_id(b, IQ, id_)
        error_of(e, 'service-unavailable')
        assert e.get('from') == full('alice', 'i1'), text_of(e)
    res = b.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>",
               to=bare('alice'))
    error_of(res, 'service-unavailable')
    b.send("<iq type='result' id='bi3' to='%s'/>" % full('alice', 'i1'))
    sync(b)
    silent(a, 1.0)
    silent(b, 0.3, (IQ,))


def test_disco_to_bare_jid_works_unblocked(raw):
    """XEP-0030 3.1 still answers for an account when nobody is blocked
    (the policy hook must pass what it does not block)."""
    a = online(raw, 'alice', 'dj1', reset=True)
    b = online(raw, 'bob', 'dj2', reset=True)
    ok(b.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>",
            to=bare('alice')))
    ok(block(a, 'carol@localhost'))
    ok(b.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>",
            to=bare('alice')))


def test_domain_blocking(raw):
    """XEP-0191 "JID Matching": a blocked domain matches the domain itself,
    every JID at it and every JID at its subdomains, in both directions;
    the user's own resources and the server itself are still heard."""
    a = online(raw, 'alice', 'dom1', reset=True)
    a2 = online(raw, 'alice', 'dom2')
    b = online(raw, 'bob', 'dom3', reset=True)
    c = online(raw, 'carol', 'dom4', reset=True)
    ok(block(a, 'localhost', 'example.net'))
    send_msg(b, bare('alice'), 'dm1')
    send_msg(c, full('alice', 'dom1'), 'dm2')
    sync(b)
    sync(c)
    silent(a, 1.0, (MSG,))
    send_msg(a, bare('carol'), 'dm3')
    expect_blocked(a, MSG, 'dm3', bare('carol'))
    # Remote JIDs at the domain and at a subdomain.
    for i, to in enumerate(('example.net', 'x@example.net',
                            'y@chat.example.net/r')):
        send_msg(a, to, 'dr%d' % i)
        expect_blocked(a, MSG, 'dr%d' % i, to)
    # Not a subdomain: only the remote-server error of an unknown domain.
    send_msg(a, 'z@badexample.net', 'dr9')
    e = next_with_id(a, MSG, 'dr9')
    assert error_condition(e) == 'remote-server-not-found', text_of(e)
    # Own resources and the server still answer.
    send_msg(a2, full('alice', 'dom1'), 'self1')
    next_with_id(a, MSG, 'self1')
    sync(a)
    ok(unblock(a))


def test_full_jid_blocking(raw):
    """XEP-0191 "JID Matching": a blocked full JID matches only that
    resource; the contact's other resources and bare JID still talk."""
    a = online(raw, 'alice', 'f1', reset=True)
    evil = online(raw, 'bob', 'evil', reset=True)
    good = online(raw, 'bob', 'good')
    ok(block(a, full('bob', 'evil')))
    send_msg(evil, bare('alice'), 'fe1')
    sync(evil)
    silent(a, 0.8, (MSG,))
    send_msg(good, bare('alice'), 'fg1')
    assert next_with_id(a, MSG, 'fg1').get('from') == full('bob', 'good')
    send_msg(a, full('bob', 'evil'), 'fa1')
    expect_blocked(a, MSG, 'fa1', full('bob', 'evil'))
    send_msg(a, full('bob', 'good'), 'fa2')
    next_with_id(good, MSG, 'fa2')


def test_bare_jid_blocks_every_resource(raw):
    """XEP-0191 "JID Matching": a blocked bare JID matches all its
    resources, also ones that connect later."""
    a = online(raw, 'alice', 'bj1', reset=True)
    ok(block(a, 'bob@localhost'))
    for r in ('later1', 'later2'):
        b = online(raw, 'bob', r)
        send_msg(b, full('alice', 'bj1'), 'bj-' + r)
        sync(b)
    silent(a, 0.8, (MSG,))


def test_unavailable_presence_at_block_time(raw):
    """XEP-0191 "User Blocks Contact": when the user blocks a contact, the
    contact gets unavailable presence from each of the user's available
    resources (here there is no roster module to restrict it)."""
    a1 = online(raw, 'alice', 'up1', reset=True)
    online(raw, 'alice', 'up2')
    online(raw, 'alice', 'up3', available=False)
    b = online(raw, 'bob', 'up4', reset=True)
    ok(block(a1, 'bob@localhost'))
    got = set()
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        p = b.wait_for(lambda e: e.tag == PRESENCE, 5, 'presence')
        assert p.get('type') == 'unavailable', text_of(p)
        got.add(p.get('from'))
    assert got == {full('alice', 'up1'), full('alice', 'up2')}
    silent(b, 0.8, (PRESENCE,))
    # Blocking again sends nothing more.
    ok(block(a1, 'bob@localhost'))
    silent(b, 0.5, (PRESENCE,))


def test_list_survives_restart(server_factory, raw):
    """XEP-0191 "User Blocks Contact": the block applies across sessions;
    the list is stored and still enforced after a restart."""
    srv = server_factory(modules=MODULES)
    a = online(raw, 'alice', 'rs1', server=srv)
    ok(block(a, 'bob@localhost', 'example.net'))
    a.close()
    assert srv.stop() == 0
    srv.start()
    a = online(raw, 'alice', 'rs2', server=srv)
    b = online(raw, 'bob', 'rs3', server=srv)
    assert blocklist(a) == ['bob@localhost', 'example.net']
    send_msg(a, bare('bob'), 'rsm')
    expect_blocked(a, MSG, 'rsm', bare('bob'))
    send_msg(b, bare('alice'), 'rsb')
    sync(b)
    silent(a, 0.8, (MSG,))


def test_list_deleted_with_account(server_factory, raw):
    """Everything a user owns goes with the account: a deleted and
    re-created account starts with an empty blocklist."""
    srv = server_factory(modules=MODULES)
    a = online(raw, 'alice', 'ud1', server=srv)
    ok(block(a, 'bob@localhost'))
    srv.ctl('user', 'del', bare('alice'))
    srv.ctl('user', 'add', bare('alice'), magpie.USERS['alice'])
    a = online(raw, 'alice', 'ud2', server=srv)
    assert blocklist(a) == []
    b = online(raw, 'bob', 'ud3', server=srv)
    send_msg(b, full('alice', 'ud2'), 'udm')
    next_with_id(a, MSG, 'udm')


def test_max_items(server_factory, raw):
    """blocking.max_items: a command that would pass the limit is refused
    with <not-acceptable/> and stores none of its items; blocking what is
    already blocked does not count."""
    srv = server_factory({'blocking': {'max_items': 2}}, modules=MODULES)
    a = online(raw, 'alice', 'mx1', available=False, server=srv)
    error_of(block(a, 'a@x.example', 'b@x.example', 'c@x.example'),
             'not-acceptable', 'modify')
    assert blocklist(a) == []
    ok(block(a, 'a@x.example'))
    error_of(block(a, 'b@x.example', 'c@x.example'), 'not-acceptable')
    assert blocklist(a) == ['a@x.example']
    ok(block(a, 'a@x.example', 'b@x.example'))
    error_of(block(a, 'c@x.example'), 'not-acceptable')
    ok(unblock(a, 'a@x.example'))
    ok(block(a, 'c@x.example'))
    assert blocklist(a) == ['b@x.example', 'c@x.example']


def test_bad_config_refused(server_factory):
    """The core validates blocking.max_items at start-up."""
    srv = server_factory({'blocking': {'max_items': 0}}, modules=MODULES,
                         start=False)
    res = srv.ctl('check', check=False)
    assert res.returncode != 0
    assert 'max_items' in res.stdout + res.stderr


def test_many_items_hostile(raw):
    """Hostile input: a block command with a thousand items (some repeated,
    some not items at all) is handled in one piece and fast."""
    c = online(raw, 'alice', 'h1', available=False, reset=True)
    jids = ['u%d@spam.example' % i for i in range(999)] + ['u1@spam.example']
    body = "<block xmlns='%s'>%s<foo/><item xmlns='urn:other' jid='x@y'/>" \
        "</block>" % (NS_BLOCKING, items_xml(jids))
    t = time.monotonic()
    ok(c.iq(body, 'set', timeout=10))
    assert len(blocklist(c)) == 999
    assert time.monotonic() - t < 5
    ok(unblock(c))
    assert blocklist(c) == []


def test_slixmpp_interop(slix):
    """XEP-0191 with slixmpp's xep_0191 plugin: get, block (with the push
    event on another resource that fetched the list), unblock."""
    async def body():
        c1 = await slix.client('carol', resource='s1',
                               plugins=['xep_0030', 'xep_0191'])
        c2 = await slix.client('carol', resource='s2',
                               plugins=['xep_0030', 'xep_0191'])
        await c1['xep_0191'].unblock([], timeout=5)
        res = await c1['xep_0191'].get_blocked(timeout=5)
        assert set(res['blocklist']['items']) == set()
        await c2['xep_0191'].get_blocked(timeout=5)
        import asyncio
        pushed = asyncio.get_running_loop().create_future()
        c2.add_event_handler('blocked', lambda iq: pushed.done() or
                             pushed.set_result(iq))
        await c1['xep_0191'].block(['bob@localhost'], timeout=5)
        iq = await asyncio.wait_for(pushed, 5)
        assert [str(j) for j in iq['block']['items']] == ['bob@localhost']
        res = await c1['xep_0191'].get_blocked(timeout=5)
        assert [str(j) for j in res['blocklist']['items']] == \
            ['bob@localhost']
        await c1['xep_0191'].unblock(['bob@localhost'], timeout=5)
        res = await c2['xep_0191'].get_blocked(timeout=5)
        assert set(res['blocklist']['items']) == set()
    slix.run(body())
