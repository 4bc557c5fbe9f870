"""magpiectl roster list|add|del: an admin manages a user's roster through
the roster module (RFC 6121 2.1 items; removal per 2.5.2), and the user sees
it at the next login."""

from rawxmpp import text_of
from test_rfc6121_roster import bare, login, roster_items, start_server

import pytest


@pytest.fixture
def srv(server_factory):
    return start_server(server_factory)


def test_roster_add_list_del(srv, raw):
    """Items added by the admin carry name and groups; del removes them."""
    srv.ctl('roster', 'add', bare('alice'), bare('bob'), 'Bob', 'Friends',
            'Work')
    srv.ctl('roster', 'add', bare('alice'), bare('carol'))
    lines = srv.ctl('roster', 'list', bare('alice')).stdout.splitlines()
    assert lines == ['%s none "Bob" [Friends] [Work]' % bare('bob'),
                     '%s none ""' % bare('carol')], lines
    a = login(raw, 'alice', 'r1', server=srv, roster=False)
    items = roster_items(a)
    assert set(items) == {bare('bob'), bare('carol')}, items
    bob = items[bare('bob')]
    assert bob.get('name') == 'Bob', text_of(bob)
    assert sorted(g.text for g in bob) == ['Friends', 'Work'], text_of(bob)
    srv.ctl('roster', 'del', bare('alice'), bare('carol'))
    lines = srv.ctl('roster', 'list', bare('alice')).stdout.splitlines()
    assert lines == ['%s none "Bob" [Friends] [Work]' % bare('bob')], lines


def test_roster_errors(srv):
    """Clear errors and non-zero exits for what cannot be done."""
    res = srv.ctl('roster', 'del', bare('alice'), bare('nobody'),
                  check=False)
    assert res.returncode == 1 and 'no item' in res.stderr, res.stderr
    res = srv.ctl('roster', 'list', bare('nobody'), check=False)
    assert res.returncode == 1 and 'no such user' in res.stderr, res.stderr
    res = srv.ctl('roster', 'add', bare('alice'), 'not a jid@@x',
                  check=False)
    assert res.returncode == 1, res.stderr
    res = srv.ctl('roster', 'frob', bare('alice'), check=False)
    assert res.returncode == 2, res.stderr


def test_roster_needs_the_module(server_factory):
    """Without the roster module the command says so."""
    s = server_factory(modules=['disco'])
    res = s.ctl('roster', 'list', bare('alice'), check=False)
    assert res.returncode == 1 and 'roster module' in res.stderr, res.stderr
