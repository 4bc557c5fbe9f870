"""XEP-0054 (vcard-temp): a user publishes a vCard, anyone reads it back
as it was sent; limits, ownership and persistence."""

import xml.etree.ElementTree as ET

import pytest

import magpie
from magpie import DOMAIN
from rawxmpp import error_condition, q, text_of

NS = 'vcard-temp'
NS_INFO = 'http://jabber.org/protocol/disco#info'
MODULES = ['disco', 'ping', 'vcard']
DEFAULT_MAX = 65536
DAVE_PASSWORD = 'dave-Secret-4'

# Elements in an order no schema would sort them into, attributes in
# several namespaces, escaped text, non-ASCII text, mixed whitespace, a
# child in a foreign namespace and one in no namespace at all.
CARD = (
    "<vCard xmlns='vcard-temp' xmlns:ex='urn:example:attr' "
    "prodid='-//Magpie test//EN' version='2.0'>"
    "<NICKNAME>al &amp; &lt;ice&gt;</NICKNAME>"
    "<FN xml:lang='fr'>Alice \u00c9l\u00e9onore \U0001f426</FN>"
    "<N><FAMILY>Liddell</FAMILY><GIVEN>Alice</GIVEN><MIDDLE/></N>"
    "<EMAIL ex:pref='yes'><INTERNET/><PREF/>"
    "<USERID>alice@example.org</USERID></EMAIL>\n  "
    "<ADR><HOME/><STREET>1 Rabbit Hole</STREET>"
    "<CTRY>Wonderland</CTRY></ADR>"
    "<ext xmlns='urn:example:ext' a='1' b='&quot;two&quot;'>"
    "<deep>text<inner/>tail</deep></ext>"
    "<bare xmlns=''>no namespace</bare>"
    "<DESC>  leading and trailing spaces  </DESC>"
    "<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO>"
    "</vCard>")


def shape(e, root=True):
    """An element as nested tuples: name, attributes, text, children in
    order and (below the root) the text that follows it."""
    return (e.tag, tuple(sorted(e.attrib.items())), e.text or '',
            tuple(shape(c, False) for c in e),
            '' if root else (e.tail or ''))


def vcard_of(res):
    assert res.get('type') == 'result', text_of(res)
    cards = res.findall(q(NS, 'vCard'))
    assert len(cards) == 1, text_of(res)
    return cards[0]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """A server with the vcard module, its default limits, and a fourth
    user (dave) whom no test gives a vCard."""
    if not magpie.binaries_present():
        pytest.skip('magpied not built')
    srv = magpie.MagpieServer(tmp_path_factory.mktemp('vcard'),
                              modules=MODULES)
    srv.add_users()
    srv.add_users({'dave': DAVE_PASSWORD})
    srv.start()
    yield srv
    srv.check_stopped_cleanly()


def test_round_trip_raw(raw):
    """XEP-0054 sections 3.1 and 3.2: what the owner stores is what a get
    returns: the same elements in the same order, attributes (namespaced
    ones included), text and namespaces."""
    c = raw.logged_in('alice')
    res = c.iq(CARD, 'set')
    assert res.get('type') == 'result', text_of(res)
    assert len(res) == 0, text_of(res)
    sent = ET.fromstring(CARD)
    got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>"))
    assert shape(got) == shape(sent), (text_of(got), CARD)
    got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>",
                        to='alice@' + DOMAIN))
    assert shape(got) == shape(sent)


def test_other_user_reads_it(raw):
    """XEP-0054 section 3.3: another user's get to the owner's bare JID
    returns the owner's vCard, from the bare JID."""
    a = raw.logged_in('alice')
    assert a.iq(CARD, 'set').get('type') == 'result'
    b = raw.logged_in('bob')
    res = b.iq("<vCard xmlns='vcard-temp'/>", to='alice@' + DOMAIN)
    assert res.get('from') == 'alice@' + DOMAIN, text_of(res)
    assert shape(vcard_of(res)) == shape(ET.fromstring(CARD))


def test_replace_and_empty(raw):
    """XEP-0054 section 3.2: a new set replaces the vCard whole; an empty
    vCard leaves nothing behind (a get returns an empty vCard)."""
    c = raw.logged_in('carol')
    assert c.iq("<vCard xmlns='vcard-temp'><FN>One</FN><NICKNAME>n"
                "</NICKNAME></vCard>", 'set').get('type') == 'result'
    assert c.iq("<vCard xmlns='vcard-temp'><FN>Two</FN></vCard>",
                'set').get('type') == 'result'
    got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>"))
    assert [(e.tag, e.text) for e in got] == [(q(NS, 'FN'), 'Two')]
    assert c.iq("<vCard xmlns='vcard-temp'/>", 'set').get('type') == \
        'result'
    got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>"))
    assert len(got) == 0 and not (got.text or '').strip(), text_of(got)


def test_empty_for_user_without_vcard(raw):
    """XEP-0054 section 3.3: a user without a vCard gets an empty
    <vCard xmlns='vcard-temp'/>, both for himself and for others."""
    d = raw()
    d.login('dave', DAVE_PASSWORD)
    for to in (None, 'dave@' + DOMAIN):
        got = vcard_of(d.iq("<vCard xmlns='vcard-temp'/>", to=to))
        assert len(got) == 0, text_of(got)
    b = raw.logged_in('bob')
    got = vcard_of(b.iq("<vCard xmlns='vcard-temp'/>", to='dave@' + DOMAIN))
    assert len(got) == 0, text_of(got)


def test_set_on_another_user_forbidden(raw):
    """XEP-0054 section 3.2 (only the owner publishes): a set addressed to
    another user's bare JID is <forbidden/> and changes nothing."""
    b = raw.logged_in('bob')
    assert b.iq("<vCard xmlns='vcard-temp'><FN>Bob</FN></vCard>",
                'set').get('type') == 'result'
    a = raw.logged_in('alice')
    res = a.iq("<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>", 'set',
               to='bob@' + DOMAIN)
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'forbidden', text_of(res)
    got = vcard_of(a.iq("<vCard xmlns='vcard-temp'/>", to='bob@' + DOMAIN))
    assert [e.text for e in got] == ['Bob']


def test_unknown_user(raw):
    """RFC 6121 section 8.5.1: a vCard get to a user who does not exist is
    service-unavailable, not an empty vCard."""
    a = raw.logged_in('alice')
    res = a.iq("<vCard xmlns='vcard-temp'/>", to='nobody@' + DOMAIN)
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'service-unavailable'


def card_of_size(n):
    """A vCard whose serialized form is exactly n bytes."""
    head = "<vCard xmlns='vcard-temp'><PHOTO><BINVAL>"
    tail = "</BINVAL></PHOTO></vCard>"
    body = n - len(head) - len(tail)
    assert body > 0
    card = head + 'A' * body + tail
    assert len(card.encode()) == n
    return card


def test_size_limit_default(raw):
    """vcard.max_size (default 65536 bytes): a vCard of exactly the limit
    is kept, one byte more is refused with not-acceptable (type modify)
    and the stored vCard stays as it was."""
    c = raw.logged_in('carol')
    res = c.iq(card_of_size(DEFAULT_MAX), 'set')
    assert res.get('type') == 'result', text_of(res)
    res = c.iq(card_of_size(DEFAULT_MAX + 1), 'set')
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == 'not-acceptable', text_of(res)
    err = res.find(q('jabber:client', 'error'))
    assert err.get('type') == 'modify', text_of(res)
    got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>"))
    assert shape(got) == shape(ET.fromstring(card_of_size(DEFAULT_MAX)))


def test_disco_features(raw):
    """XEP-0054 section 6: vcard-temp is advertised by the server and in
    the account's disco#info."""
    a = raw.logged_in('alice')
    for to in (DOMAIN, 'bob@' + DOMAIN, 'alice@' + DOMAIN):
        res = a.iq("<query xmlns='%s'/>" % NS_INFO, to=to)
        assert res.get('type') == 'result', text_of(res)
        feats = [f.get('var') for f in
                 res.find(q(NS_INFO, 'query')).findall(q(NS_INFO,
                                                          'feature'))]
        assert feats.count(NS) == 1, (to, feats)


def test_via_slixmpp(slix):
    """XEP-0054 sections 3.1-3.3 with slixmpp's xep_0054: publish, then
    another client reads the fields."""
    async def body():
        a = await slix.client('carol', plugins=['xep_0054'],
                              presence=False)
        card = a['xep_0054'].make_vcard()
        card['FN'] = 'Carol Slix'
        card['NICKNAME'] = 'cs'
        card['URL'] = 'https://example.org/carol'
        await a['xep_0054'].publish_vcard(card, timeout=5)
        b = await slix.client('bob', plugins=['xep_0054'], presence=False)
        iq = await b['xep_0054'].get_vcard('carol@' + DOMAIN, timeout=5)
        assert iq['type'] == 'result'
        got = iq['vcard_temp']
        assert got['FN'] == 'Carol Slix'
        assert got['NICKNAME'] in ('cs', ['cs'])
        assert got['URL'] == 'https://example.org/carol'
    slix.run(body())


def test_survives_restart_and_user_deletion(server_factory, raw):
    """XEP-0054 section 3.2 (the server stores the vCard): it survives a
    restart; deleting the account deletes it (a new account of the same
    name starts without a vCard)."""
    srv = server_factory(modules=MODULES)
    c = raw.logged_in('alice', server=srv)
    assert c.iq(CARD, 'set').get('type') == 'result'
    c.close()
    srv.stop()
    srv.start()
    c = raw.logged_in('alice', server=srv)
    got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>"))
    assert shape(got) == shape(ET.fromstring(CARD))
    c.close()
    srv.stop()
    srv.ctl('user', 'del', 'alice@' + DOMAIN)
    srv.ctl('user', 'add', 'alice@' + DOMAIN, magpie.USERS['alice'])
    srv.start()
    c = raw.logged_in('alice', server=srv)
    got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>"))
    assert len(got) == 0, text_of(got)


def test_configured_limit(server_factory, raw):
    """vcard.max_size is honoured when set lower than the default."""
    srv = server_factory({'vcard': {'max_size': 1024}}, modules=MODULES)
    c = raw.logged_in('bob', server=srv)
    assert c.iq(card_of_size(1024), 'set').get('type') == 'result'
    res = c.iq(card_of_size(1025), 'set')
    assert error_condition(res) == 'not-acceptable', text_of(res)


def test_deep_and_odd_content(raw):
    """Hostile shapes round-trip or are refused cleanly, never crash the
    server: deep nesting, CDATA sections, character references and many
    siblings (comments are restricted XML, RFC 6120 11.1)."""
    c = raw.logged_in('bob')
    deep = "<vCard xmlns='vcard-temp'>%s%s</vCard>" % (
        ''.join('<d%d k="&#x26;&#60;">' % i for i in range(40)),
        ''.join('</d%d>' % i for i in reversed(range(40))))
    odd = ("<vCard xmlns='vcard-temp'><NOTE><![CDATA[<not> & markup]]>"
           "&#x1F426;&#10;</NOTE>%s</vCard>" %
           ''.join('<X%d/>' % i for i in range(500)))
    for card in (deep, odd):
        assert c.iq(card, 'set').get('type') == 'result'
        got = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>"))
        assert shape(got) == shape(ET.fromstring(card))
    note = vcard_of(c.iq("<vCard xmlns='vcard-temp'/>")).find(q(NS, 'NOTE'))
    assert note.text == '<not> & markup\U0001f426\n'
