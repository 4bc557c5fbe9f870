"""Removing an account (XEP-0077 3.2 in-band, or magpiectl user del) removes
everything the account owned: roster (with its contacts unsubscribed, RFC
6121 2.5.2 and XEP-0077 3.2), offline messages, vCard, private XML,
blocklist, last activity. The store is read back with `magpiectl user data`,
which scans every database through the store API."""

import pytest

from rawxmpp import text_of
from test_rfc6121_presence import handshake, next_presence
from test_rfc6121_roster import bare, login, roster_items, sync, take, iq

MODULES = ['disco', 'ping', 'roster', 'presence', 'offline', 'vcard',
           'private', 'blocking', 'last', 'register']
NS_REGISTER = 'jabber:iq:register'


def user_data(srv, user):
    """The records stored for user, one 'db<TAB>key' line each."""
    res = srv.ctl('user', 'data', bare(user))
    return [ln for ln in res.stdout.splitlines() if ln]


def databases(lines):
    return {ln.split('\t')[0] for ln in lines}


def fill_account(raw, srv):
    """alice and bob subscribed both ways; alice with a vCard, private XML,
    a blocklist, a last-activity record and offline messages from bob."""
    a = login(raw, 'alice', 'a1', server=srv, presence=True)
    b = login(raw, 'bob', 'b1', server=srv, presence=True)
    handshake(a, b, 'alice', 'bob')
    handshake(b, a, 'bob', 'alice')
    res = iq(a, "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>",
             type_='set')
    assert res.get('type') == 'result', text_of(res)
    res = iq(a, "<query xmlns='jabber:iq:private'><n xmlns='urn:test:n'>"
             "secret</n></query>", type_='set')
    assert res.get('type') == 'result', text_of(res)
    res = iq(a, "<block xmlns='urn:xmpp:blocking'><item jid='%s'/>"
             "</block>" % bare('carol'), type_='set')
    assert res.get('type') == 'result', text_of(res)
    a.close()
    next_presence(b, bare('alice'), 'unavailable')
    for n in range(2):
        b.send("<message to='%s' type='chat'><body>while away %d</body>"
               "</message>" % (bare('alice'), n))
    sync(b)
    return b


@pytest.mark.parametrize('how', ['in-band', 'magpiectl'])
def test_account_removal_leaves_nothing(raw, server_factory, how):
    """XEP-0077 3.2 / RFC 6121 2.5.2: after removal nothing of the account
    is stored, and its contact's subscription has ended."""
    srv = server_factory(modules=MODULES)
    b = fill_account(raw, srv)
    before = databases(user_data(srv, 'alice'))
    # The check can fail: every module's records are there first.
    for db in ('accounts', 'roster.items', 'offline.messages',
               'blocking.list', 'last.logout'):
        assert db in before, before
    assert any(d.startswith('vcard') for d in before), before
    assert any(d.startswith('private') for d in before), before

    if how == 'in-band':
        a = login(raw, 'alice', 'a2', server=srv, roster=False)
        res = iq(a, "<query xmlns='%s'><remove/></query>" % NS_REGISTER,
                 type_='set')
        assert res.get('type') == 'result', text_of(res)
        a.wait_closed()
        # The contact is told: unsubscribe and unsubscribed from alice.
        got = set()
        while got != {'unsubscribe', 'unsubscribed'}:
            e = take(b, lambda x: x.get('from') == bare('alice') and
                     x.get('type') in ('unsubscribe', 'unsubscribed'),
                     5.0, 'unsubscribe/unsubscribed from alice')
            got.add(e.get('type'))
    else:
        # magpiectl runs the modules itself, beside a stopped server.
        b.close()
        srv.stop()
        srv.ctl('user', 'del', bare('alice'))
        srv.start()
        b = login(raw, 'bob', 'b2', server=srv)
    item = roster_items(b).get(bare('alice'))
    assert item is None or item.get('subscription') == 'none', text_of(item)

    assert user_data(srv, 'alice') == []
    res = srv.ctl('user', 'list', check=False)
    assert bare('alice') not in res.stdout.split()
    # bob's own data is untouched
    assert 'roster.items' in databases(user_data(srv, 'bob'))
