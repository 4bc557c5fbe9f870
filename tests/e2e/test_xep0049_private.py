"""XEP-0049 (Private XML Storage): each user keeps elements by namespace
and name, only for himself; reserved namespaces and limits are refused."""

import xml.etree.ElementTree as ET

import pytest

import magpie
from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of

NS = 'jabber:iq:private'
MODULES = ['disco', 'ping', 'private']

PREFS = (
    "<prefs xmlns='urn:example:prefs' xmlns:o='urn:example:other' "
    "version='3'><theme o:variant='dark'>night &amp; day</theme>\n"
    "<z/><a>\u00e9t\u00e9 \U0001f426</a><x xmlns='urn:example:x'>in x</x>"
    "</prefs>")


def shape(e, root=True):
    """An element as nested tuples: name, attributes, text, children in
    order and (below the root) the text that follows it."""
    return (e.tag, tuple(sorted(e.attrib.items())), e.text or '',
            tuple(shape(c, False) for c in e),
            '' if root else (e.tail or ''))


def query(body):
    return "<query xmlns='%s'>%s</query>" % (NS, body)


def stored(res):
    """The one element in a result's <query/>."""
    assert res.get('type') == 'result', text_of(res)
    qs = res.findall(q(NS, 'query'))
    assert len(qs) == 1, text_of(res)
    assert len(qs[0]) == 1, text_of(res)
    return qs[0][0]


def set_ok(c, body):
    res = c.iq(query(body), 'set')
    assert res.get('type') == 'result', text_of(res)
    return res


def error_type(res):
    return res.find(q(NS_CLIENT, 'error')).get('type')


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    if not magpie.binaries_present():
        pytest.skip('magpied not built')
    srv = magpie.MagpieServer(tmp_path_factory.mktemp('private'),
                              {'private': {'max_items': 8,
                                           'max_size': 1024}},
                              modules=MODULES)
    srv.add_users()
    srv.start()
    yield srv
    srv.check_stopped_cleanly()


def test_round_trip(raw):
    """XEP-0049 section 2.1 (store) and 2.2 (retrieve): the element comes
    back with its attributes, text, children and namespaces as stored."""
    c = raw.logged_in('alice')
    set_ok(c, PREFS)
    got = stored(c.iq(query("<prefs xmlns='urn:example:prefs'/>")))
    assert shape(got) == shape(ET.fromstring(PREFS)), text_of(got)
    # the own bare JID as 'to' is the same storage
    got = stored(c.iq(query("<prefs xmlns='urn:example:prefs'/>"),
                      to='alice@' + DOMAIN))
    assert shape(got) == shape(ET.fromstring(PREFS))


def test_namespaces_and_names_kept_apart(raw):
    """XEP-0049 section 2.1: data is keyed by its namespace (and element
    name); storing one does not touch another."""
    c = raw.logged_in('bob')
    set_ok(c, "<data xmlns='urn:example:one'>1</data>")
    set_ok(c, "<data xmlns='urn:example:two'>2</data>")
    set_ok(c, "<other xmlns='urn:example:one'>3</other>")
    for ns, name, text in (('urn:example:one', 'data', '1'),
                           ('urn:example:two', 'data', '2'),
                           ('urn:example:one', 'other', '3')):
        got = stored(c.iq(query("<%s xmlns='%s'/>" % (name, ns))))
        assert (got.tag, got.text) == (q(ns, name), text), text_of(got)
    # replacing one keeps the others
    set_ok(c, "<data xmlns='urn:example:one'>1b</data>")
    got = stored(c.iq(query("<data xmlns='urn:example:two'/>")))
    assert got.text == '2'
    got = stored(c.iq(query("<data xmlns='urn:example:one'/>")))
    assert got.text == '1b'


def test_users_kept_apart(raw):
    """XEP-0049 section 2.1: storage is per user."""
    a = raw.logged_in('alice')
    b = raw.logged_in('bob')
    set_ok(a, "<mine xmlns='urn:example:sep'>alice</mine>")
    got = stored(b.iq(query("<mine xmlns='urn:example:sep'/>")))
    assert got.text is None and len(got) == 0, text_of(got)


def test_unknown_returns_empty_element(raw):
    """XEP-0049 section 2.2: nothing stored yet: the result holds the
    element as it was asked for, empty."""
    c = raw.logged_in('carol')
    got = stored(c.iq(query("<nothing xmlns='urn:example:none'/>")))
    assert got.tag == q('urn:example:none', 'nothing')
    assert len(got) == 0 and not got.text and not got.attrib


@pytest.mark.parametrize('ns', ['jabber:client', 'jabber:server',
                                'jabber:iq:private', 'jabber:iq:roster',
                                'jabber:x:data', ''])
def test_reserved_namespaces_refused(raw, ns):
    """XEP-0049 section 3: data must be scoped by its own namespace:
    jabber:* namespaces (and no namespace) are not-acceptable, on set and
    on get, and nothing is stored."""
    c = raw.logged_in('carol')
    el = "<thing xmlns='%s'>x</thing>" % ns
    res = c.iq(query(el), 'set')
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'not-acceptable', text_of(res)
    res = c.iq(query("<thing xmlns='%s'/>" % ns))
    assert error_condition(res) == 'not-acceptable', text_of(res)


def test_child_without_xmlns_is_reserved(raw):
    """XEP-0049 section 3: a child that inherits jabber:iq:private is not
    in a namespace of its own."""
    c = raw.logged_in('carol')
    res = c.iq(query("<thing>x</thing>"), 'set')
    assert error_condition(res) == 'not-acceptable', text_of(res)


def test_bad_requests(raw):
    """XEP-0049 section 2.3: a get or set without an element, or a get
    naming more than one, is bad-request."""
    c = raw.logged_in('carol')
    for body, type_ in ((query(''), 'get'), (query(''), 'set'),
                        (query("<a xmlns='urn:x'/><b xmlns='urn:x'/>"),
                         'get')):
        res = c.iq(body, type_)
        assert res.get('type') == 'error', text_of(res)
        assert error_condition(res) == 'bad-request', text_of(res)


def test_set_with_several_elements(raw):
    """XEP-0049 section 2.1: a set MAY hold several elements; all are
    stored. If one is refused, none is."""
    c = raw.logged_in('carol')
    set_ok(c, "<m1 xmlns='urn:example:multi'>1</m1>"
              "<m2 xmlns='urn:example:multi'>2</m2>")
    for name, text in (('m1', '1'), ('m2', '2')):
        got = stored(c.iq(query("<%s xmlns='urn:example:multi'/>" % name)))
        assert got.text == text
    res = c.iq(query("<m1 xmlns='urn:example:multi'>new</m1>"
                     "<bad xmlns='jabber:client'/>"), 'set')
    assert error_condition(res) == 'not-acceptable', text_of(res)
    got = stored(c.iq(query("<m1 xmlns='urn:example:multi'/>")))
    assert got.text == '1'


def test_other_users_storage_forbidden(raw):
    """XEP-0049 section 2.3: get or set on another user's storage is
    forbidden (the preferred condition)."""
    a = raw.logged_in('alice')
    set_ok(a, "<secret xmlns='urn:example:secret'>s3cret</secret>")
    b = raw.logged_in('bob')
    res = b.iq(query("<secret xmlns='urn:example:secret'/>"),
               to='alice@' + DOMAIN)
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'forbidden', text_of(res)
    assert 's3cret' not in ET.tostring(res, encoding='unicode')
    res = b.iq(query("<secret xmlns='urn:example:secret'>x</secret>"),
               'set', to='alice@' + DOMAIN)
    assert error_condition(res) == 'forbidden', text_of(res)
    got = stored(a.iq(query("<secret xmlns='urn:example:secret'/>")))
    assert got.text == 's3cret'


def test_size_limit(raw):
    """private.max_size (1024 here): an element of exactly the limit is
    kept, one byte more is not-acceptable (modify); the old one stays."""
    c = raw.logged_in('alice')
    head, tail = "<big xmlns='urn:example:big'>", "</big>"

    def of(n):
        return head + 'B' * (n - len(head) - len(tail)) + tail
    set_ok(c, of(1024))
    res = c.iq(query(of(1025)), 'set')
    assert error_condition(res) == 'not-acceptable', text_of(res)
    assert error_type(res) == 'modify'
    got = stored(c.iq(query("<big xmlns='urn:example:big'/>")))
    assert len(got.text) == 1024 - len(head) - len(tail)


def test_count_limit_and_empty_frees(raw):
    """private.max_items (8 here): a ninth element is not-acceptable;
    replacing a stored one still works; storing an empty element removes
    one and frees its slot."""
    c = raw.logged_in('carol')
    # Clear what other tests of this module may have left for carol.
    for name, ns in (('m1', 'urn:example:multi'),
                     ('m2', 'urn:example:multi')):
        set_ok(c, "<%s xmlns='%s'/>" % (name, ns))
    for i in range(8):
        set_ok(c, "<n%d xmlns='urn:example:count'>%d</n%d>" % (i, i, i))
    res = c.iq(query("<n8 xmlns='urn:example:count'>8</n8>"), 'set')
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'not-acceptable', text_of(res)
    set_ok(c, "<n3 xmlns='urn:example:count'>three</n3>")
    set_ok(c, "<n0 xmlns='urn:example:count'/>")
    set_ok(c, "<n8 xmlns='urn:example:count'>8</n8>")
    got = stored(c.iq(query("<n0 xmlns='urn:example:count'/>")))
    assert got.text is None
    got = stored(c.iq(query("<n8 xmlns='urn:example:count'/>")))
    assert got.text == '8'


def test_bookmarks_via_slixmpp(slix):
    """XEP-0049 with slixmpp's xep_0049 and XEP-0048 bookmarks (the usual
    user of private storage): store, then retrieve."""
    async def body():
        c = await slix.client('bob', plugins=['xep_0048'], presence=False)
        bm = c['xep_0048'].stanza.Bookmarks()
        bm.add_conference('room@muc.example.org', 'bobby', name='Room',
                          autojoin=True)
        await c['xep_0048'].set_bookmarks(bm, method='xep_0049',
                                          timeout=5)
        iq = await c['xep_0048'].get_bookmarks(method='xep_0049',
                                               timeout=5)
        assert iq['type'] == 'result'
        confs = iq['private']['bookmarks']['conferences']
        assert [(str(x['jid']), x['nick'], x['name'], x['autojoin'])
                for x in confs] == [('room@muc.example.org', 'bobby',
                                     'Room', True)]
    slix.run(body())


def test_survives_restart_and_user_deletion(server_factory, raw):
    """XEP-0049 section 2.1: stored data survives a restart; deleting the
    account deletes it."""
    srv = server_factory(modules=MODULES)
    c = raw.logged_in('alice', server=srv)
    set_ok(c, PREFS)
    set_ok(c, "<k xmlns='urn:example:k'>v</k>")
    c.close()
    srv.stop()
    srv.start()
    c = raw.logged_in('alice', server=srv)
    got = stored(c.iq(query("<prefs xmlns='urn:example:prefs'/>")))
    assert shape(got) == shape(ET.fromstring(PREFS))
    c.close()
    srv.stop()
    srv.ctl('user', 'del', 'alice@' + DOMAIN)
    srv.ctl('user', 'add', 'alice@' + DOMAIN, magpie.USERS['alice'])
    srv.start()
    c = raw.logged_in('alice', server=srv)
    for el in ("<prefs xmlns='urn:example:prefs'/>",
               "<k xmlns='urn:example:k'/>"):
        got = stored(c.iq(query(el)))
        assert len(got) == 0 and not got.text, text_of(got)


def test_set_with_too_many_elements(raw):
    """A set with more elements than private.max_items is refused whole
    (not-acceptable) and stores nothing."""
    c = raw.logged_in('bob')
    body = ''.join("<e%d xmlns='urn:example:flood'>x</e%d>" % (i, i)
                   for i in range(50))
    res = c.iq(query(body), 'set')
    assert error_condition(res) == 'not-acceptable', text_of(res)
    got = stored(c.iq(query("<e0 xmlns='urn:example:flood'/>")))
    assert got.text is None
