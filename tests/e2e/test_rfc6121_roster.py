"""RFC 6121 section 2: roster get, set, remove, pushes to interested
resources, validation of roster sets, the item limit and persistence.
Helpers here are shared with the presence and roster versioning tests."""


import pytest

import magpie
from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of

NS_ROSTER = 'jabber:iq:roster'
IQ = q(NS_CLIENT, 'iq')
PRESENCE = q(NS_CLIENT, 'presence')
QUERY = q(NS_ROSTER, 'query')
ITEM = q(NS_ROSTER, 'item')
MODULES = ['disco', 'ping', 'roster', 'presence']


def bare(user):
    return '%s@%s' % (user, DOMAIN)


def start_server(factory, overrides=None):
    return factory(overrides=overrides, modules=MODULES)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """A server of this module with roster and presence loaded."""
    if not magpie.binaries_present():
        pytest.skip('magpied not built')
    srv = magpie.MagpieServer(tmp_path_factory.mktemp('roster'),
                              modules=MODULES)
    srv.add_users()
    srv.start()
    yield srv
    srv.check_stopped_cleanly()


def login(raw, user, resource, server=None, presence=False, roster=True):
    """A bound raw client; roster=True asks for the roster (becoming an
    interested resource); presence=True sends initial presence."""
    c = raw.logged_in(user, resource=resource, server=server)
    if roster:
        roster_get(c)
    if presence:
        c.presence()
        sync(c)
    return c


_ids = iter(range(1, 1 << 30))


def take(c, pred, timeout=5.0, what='element'):
    """The first element (queued or arriving) matching pred; unlike
    RawClient.wait_for, the others stay queued for later reads, so tests do
    not depend on the order of pushes and presence."""
    skipped = []
    try:
        return c.wait_for(lambda e: pred(e) or skipped.append(e), timeout,
                          what)
    finally:
        c.elements[0:0] = skipped


def iq(c, body, type_='get', to=None, timeout=5.0):
    """Sends an iq and returns its response."""
    id_ = 'r%d' % next(_ids)
    c.send("<iq type='%s' id='%s'%s>%s</iq>" % (
        type_, id_, " to='%s'" % to if to else '', body))
    return take(c, lambda e: e.tag == IQ and e.get('id') == id_ and
                e.get('type') in ('result', 'error'), timeout,
                'iq response %s' % id_)


def sync(c):
    iq(c, "<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)


def roster_get(c, ver=None):
    attr = '' if ver is None else " ver='%s'" % ver
    res = iq(c, "<query xmlns='%s'%s/>" % (NS_ROSTER, attr))
    assert res.get('type') == 'result', text_of(res)
    return res


def items_of(query):
    """{jid: item element} of a roster query or push."""
    return {i.get('jid'): i for i in query.findall(ITEM)} \
        if query is not None else {}


def roster_items(c):
    return items_of(roster_get(c).find(QUERY))


def roster_set(c, jid, name=None, groups=(), sub=None, extra=''):
    attrs = " jid='%s'" % jid
    if name is not None:
        attrs += " name='%s'" % name
    if sub is not None:
        attrs += " subscription='%s'" % sub
    body = ''.join('<group>%s</group>' % g for g in groups)
    return iq(c, "<query xmlns='%s'><item%s%s>%s</item></query>" %
              (NS_ROSTER, attrs, extra, body), type_='set')


def is_push(e, jid=None):
    if e.tag != IQ or e.get('type') != 'set' or e.find(QUERY) is None:
        return False
    return jid is None or e.find(QUERY).find(ITEM).get('jid') == jid


def next_push(c, jid=None, timeout=5.0):
    """The next roster push (about jid), answered as RFC 6121 2.1.6 asks."""
    e = take(c, lambda x: is_push(x, jid), timeout, 'roster push')
    c.send("<iq type='result' id='%s'/>" % e.get('id'))
    return e


def push_item(e):
    return e.find(QUERY).find(ITEM)


def no_push(c, wait=1.0):
    for e in c.elements_for(wait):
        if is_push(e):
            raise AssertionError('unexpected push: %s' % text_of(e))


def test_roster_set_pushes_to_interested_resources(raw):
    """RFC 6121 2.3.2 and 2.1.6: a roster set is pushed to every interested
    resource (the one that asked included, with the user's bare JID as
    'from'), not to a resource that never requested the roster; the result
    follows and a roster get shows the item with its name and groups."""
    a1 = login(raw, 'alice', 'one')
    a2 = login(raw, 'alice', 'two')
    a3 = login(raw, 'alice', 'three', roster=False)
    res = roster_set(a1, bare('bob'), name='Bobby', groups=['Friends', 'Work'])
    assert res.get('type') == 'result', text_of(res)
    for c in (a1, a2):
        p = next_push(c, bare('bob'))
        assert p.get('from') == bare('alice'), text_of(p)
        item = push_item(p)
        assert item.get('name') == 'Bobby'
        assert item.get('subscription') == 'none'
        assert sorted(g.text for g in item.findall(q(NS_ROSTER, 'group'))) \
            == ['Friends', 'Work']
    no_push(a3)
    item = roster_items(a3)[bare('bob')]
    assert item.get('name') == 'Bobby', text_of(item)
    # an update replaces name and groups
    roster_set(a2, bare('bob'), name='Bob', groups=['Work'])
    item = push_item(next_push(a1, bare('bob')))
    assert item.get('name') == 'Bob'
    assert [g.text for g in item.findall(q(NS_ROSTER, 'group'))] == ['Work']


def test_roster_remove(raw):
    """RFC 6121 2.5: subscription='remove' deletes the item and pushes the
    removal; removing an item that is not there is item-not-found (2.5.3)."""
    a = login(raw, 'alice', 'rm')
    roster_set(a, bare('carol'), name='C')
    next_push(a, bare('carol'))
    res = roster_set(a, bare('carol'), sub='remove')
    assert res.get('type') == 'result', text_of(res)
    assert push_item(next_push(a, bare('carol'))).get('subscription') == \
        'remove'
    assert bare('carol') not in roster_items(a)
    res = roster_set(a, 'nobody@' + DOMAIN, sub='remove')
    assert error_condition(res) == 'item-not-found', text_of(res)


@pytest.mark.parametrize('body,condition', [
    ("<item jid='x@localhost'/><item jid='y@localhost'/>", 'bad-request'),
    ("<item jid='x@localhost'><group>G</group><group>G</group></item>",
     'bad-request'),
    ("<item jid='x@localhost'><group></group></item>", 'not-acceptable'),
    ("<item jid='x@localhost'><group>%s</group></item>" % ('g' * 2000),
     'not-acceptable'),
    ("<item jid='x@localhost' name='%s'/>" % ('n' * 2000), 'not-acceptable'),
    ("<item jid='@@bad@@'/>", 'jid-malformed'),
    ("<item/>", 'bad-request'),
    ("<item jid='x@localhost' subscription='bogus'/>", 'bad-request'),
    ("<item jid='x@localhost/res'/>", 'bad-request'),
    ("<item jid='alice@localhost'/>", 'not-allowed'),
    ("<other xmlns='urn:x'/>", 'bad-request'),
])
def test_roster_set_validation(raw, body, condition):
    """RFC 6121 2.3.3: a bad roster set gets an error and changes nothing."""
    a = login(raw, 'alice', 'bad')
    before = roster_items(a)
    res = iq(a, "<query xmlns='%s'>%s</query>" % (NS_ROSTER, body),
             type_='set')
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == condition, text_of(res)
    no_push(a, 0.3)
    assert roster_items(a).keys() == before.keys()


def test_subscription_attribute_from_client_ignored(raw):
    """RFC 6121 2.1.2.5: a client cannot set the subscription state; a value
    other than 'remove' is ignored and the item stays 'none'."""
    a = login(raw, 'alice', 'subattr')
    res = roster_set(a, 'dave@' + DOMAIN, sub='both')
    assert res.get('type') == 'result', text_of(res)
    assert push_item(next_push(a, 'dave@' + DOMAIN)).get('subscription') \
        == 'none'


def test_other_users_roster_forbidden(raw):
    """RFC 6121 2.1.5 / 2.3.3: a roster request to another user's bare JID
    is refused with forbidden."""
    a = login(raw, 'alice', 'other')
    res = iq(a, "<query xmlns='%s'/>" % NS_ROSTER, to=bare('bob'))
    assert error_condition(res) == 'forbidden', text_of(res)


def test_item_limit(raw, server_factory):
    """RFC 6121 2.3.3 (roster size limit): beyond roster.max_items a new item
    is refused with policy-violation; updating an existing one still works."""
    srv = start_server(server_factory, {'roster': {'max_items': 2}})
    a = login(raw, 'alice', 'lim', server=srv)
    for u in ('u1', 'u2'):
        assert roster_set(a, u + '@' + DOMAIN).get('type') == 'result'
    res = roster_set(a, 'u3@' + DOMAIN)
    assert error_condition(res) == 'policy-violation', text_of(res)
    assert roster_set(a, 'u1@' + DOMAIN, name='x').get('type') == 'result'
    assert len(roster_items(a)) == 2


def test_roster_survives_restart(raw, server_factory):
    """RFC 6121 2.1 (the roster is stored on the server): items with names
    and groups are there again after a restart."""
    srv = start_server(server_factory)
    a = login(raw, 'alice', 'persist', server=srv)
    roster_set(a, bare('bob'), name='Bob', groups=['G1', 'G2'])
    roster_set(a, bare('carol'))
    a.close()
    assert srv.stop() == 0
    srv.start()
    a = login(raw, 'alice', 'persist2', server=srv)
    items = roster_items(a)
    assert set(items) == {bare('bob'), bare('carol')}
    assert items[bare('bob')].get('name') == 'Bob'
    assert sorted(g.text for g in items[bare('bob')].findall(
        q(NS_ROSTER, 'group'))) == ['G1', 'G2']


def test_slixmpp_roster(slix, server):
    """RFC 6121 2.2 and 2.3 with an independent client: slixmpp adds an item
    and sees it in its roster after a fresh get."""
    async def body():
        c = await slix.client('carol', resource='slix')
        await c.get_roster(timeout=5)
        await c.update_roster(bare('alice'), name='Alice',
                              groups=['Pals'], timeout=5)
        await c.get_roster(timeout=5)
        item = c.client_roster[bare('alice')]
        assert item['name'] == 'Alice'
        assert item['groups'] == ['Pals']
        assert item['subscription'] == 'none'
    slix.run(body())
