"""XEP-0237 (RFC 6121 2.6): roster versioning - the stream feature, 'ver'
on results and pushes, an empty result for a current version, only the
changes since a known version, and the full roster for an unknown one."""

import pytest

from rawxmpp import text_of
from test_rfc6121_roster import QUERY, bare, items_of, login, next_push, \
    no_push, push_item, roster_get, roster_set, start_server

NS_ROSTERVER = 'urn:xmpp:features:rosterver'


@pytest.fixture
def srv(server_factory):
    return start_server(server_factory)


def test_feature_after_authentication(raw, srv):
    """XEP-0237 2.2: <ver xmlns='urn:xmpp:features:rosterver'/> is offered
    with the post-authentication features, not before."""
    c = raw(server=srv)
    c.open_stream()
    c.starttls()
    assert c.feature(NS_ROSTERVER, 'ver') is None
    c.authenticate('alice', 'alice-Secret-1')
    assert c.feature(NS_ROSTERVER, 'ver') is not None


def test_current_version_gets_empty_result(raw, srv):
    """XEP-0237 2.4 / RFC 6121 2.6.3: ver='' gets the full roster with a
    version; that version, once current, gets an empty result (no query)
    and no pushes."""
    a = login(raw, 'alice', 'v', server=srv)
    roster_set(a, bare('bob'), name='B')
    roster_set(a, bare('carol'))
    res = roster_get(a, ver='')
    q = res.find(QUERY)
    assert q is not None and q.get('ver'), text_of(res)
    assert set(items_of(q)) == {bare('bob'), bare('carol')}
    a2 = login(raw, 'alice', 'v2', server=srv, roster=False)
    res = roster_get(a2, ver=q.get('ver'))
    assert res.find(QUERY) is None, text_of(res)
    no_push(a2, 0.5)


def test_changes_since_version_as_pushes(raw, srv):
    """RFC 6121 2.6.3 (XEP-0237 2.4): a client with an older version gets an
    empty result, then one push per change since, in order, each with its
    version; the last one is the current version."""
    a = login(raw, 'alice', 'v', server=srv)
    roster_set(a, bare('bob'))
    old = roster_get(a, ver='').find(QUERY).get('ver')
    roster_set(a, bare('carol'), name='C')
    roster_set(a, bare('bob'), sub='remove')
    roster_set(a, 'dave@localhost', groups=['G'])
    current = roster_get(a, ver='').find(QUERY).get('ver')
    assert current != old
    a2 = login(raw, 'alice', 'v2', server=srv, roster=False)
    res = roster_get(a2, ver=old)
    assert res.find(QUERY) is None, text_of(res)
    pushes = [next_push(a2) for _ in range(3)]
    got = [(push_item(p).get('jid'), push_item(p).get('subscription'))
           for p in pushes]
    assert got == [(bare('carol'), 'none'), (bare('bob'), 'remove'),
                   ('dave@localhost', 'none')], got
    assert pushes[-1].find(QUERY).get('ver') == current
    vers = [p.find(QUERY).get('ver') for p in pushes]
    assert len(set(vers)) == 3
    no_push(a2, 0.5)


def test_pushes_carry_versions(raw, srv):
    """RFC 6121 2.6.4: every push carries the roster's new version, which a
    roster get with that version then finds current."""
    a = login(raw, 'alice', 'v', server=srv)
    roster_get(a, ver='')
    roster_set(a, bare('bob'))
    ver = next_push(a, bare('bob')).find(QUERY).get('ver')
    assert ver
    assert roster_get(a, ver=ver).find(QUERY) is None


@pytest.mark.parametrize('ver', ['bogus', '0-0', '1-999999999', '-1',
                                 '99999999999999999999999-1', '1-'])
def test_unknown_version_gets_full_roster(raw, srv, ver):
    """RFC 6121 2.6.3: a version the server cannot replay from gets the whole
    roster with the current version."""
    a = login(raw, 'alice', 'v', server=srv)
    roster_set(a, bare('bob'))
    res = roster_get(a, ver=ver)
    q = res.find(QUERY)
    assert q is not None, text_of(res)
    assert q.get('ver') and q.get('ver') != ver
    assert bare('bob') in items_of(q)


def test_subscription_changes_move_the_version(raw, srv):
    """RFC 6121 2.6 with 3.1.2: a change made by a subscription (ask) is a
    roster change too: the old version replays it."""
    a = login(raw, 'alice', 'v', server=srv, presence=True)
    roster_set(a, bare('bob'))
    old = roster_get(a, ver='').find(QUERY).get('ver')
    a.send("<presence to='%s' type='subscribe'/>" % bare('bob'))
    next_push(a, bare('bob'))
    a2 = login(raw, 'alice', 'v2', server=srv, roster=False)
    assert roster_get(a2, ver=old).find(QUERY) is None
    assert push_item(next_push(a2, bare('bob'))).get('ask') == 'subscribe'
