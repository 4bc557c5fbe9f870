"""XEP-0030 (Service Discovery) on the server's JID: identity, the features
of the loaded modules, and an empty item list."""

from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of

NS_INFO = 'http://jabber.org/protocol/disco#info'
NS_ITEMS = 'http://jabber.org/protocol/disco#items'

EXPECTED_FEATURES = {NS_INFO, NS_ITEMS, 'urn:xmpp:ping', 'jabber:iq:version',
                     'urn:xmpp:time'}


def test_disco_info_via_slixmpp(slix):
    """XEP-0030 section 3.1: the server is a server/im identity and lists
    the features of its modules."""
    async def body():
        c = await slix.client('alice', plugins=['xep_0030'], presence=False)
        iq = await c['xep_0030'].get_info(jid=DOMAIN, timeout=5)
        assert iq['type'] == 'result'
        assert iq['from'].full == DOMAIN
        identities = {(cat, typ) for cat, typ, _lang, _name in
                      iq['disco_info']['identities']}
        assert ('server', 'im') in identities, identities
        features = set(iq['disco_info']['features'])
        missing = EXPECTED_FEATURES - features
        assert not missing, 'missing features %s in %s' % (missing, features)
    slix.run(body())


def test_disco_items_via_slixmpp(slix):
    """XEP-0030 section 4.1: the server has no items yet (empty list)."""
    async def body():
        c = await slix.client('alice', plugins=['xep_0030'], presence=False)
        iq = await c['xep_0030'].get_items(jid=DOMAIN, timeout=5)
        assert iq['type'] == 'result'
        assert list(iq['disco_items']['items']) == []
    slix.run(body())


def test_disco_info_raw_shape(raw):
    """XEP-0030 section 3.1: result echoes the id, has exactly one query in
    disco#info, and features are unique (section 3.3: no duplicates)."""
    c = raw.logged_in('bob')
    res = c.iq("<query xmlns='%s'/>" % NS_INFO, to=DOMAIN)
    assert res.get('type') == 'result', text_of(res)
    query = res.find(q(NS_INFO, 'query'))
    assert query is not None, text_of(res)
    feats = [f.get('var') for f in query.findall(q(NS_INFO, 'feature'))]
    assert len(feats) == len(set(feats)), feats
    assert query.findall(q(NS_INFO, 'identity')), text_of(res)
    for ident in query.findall(q(NS_INFO, 'identity')):
        assert ident.get('category') and ident.get('type'), text_of(ident)


def test_disco_info_set_is_refused(raw):
    """XEP-0030 section 3.1 (info is queried with get) and RFC 6120 8.2.3:
    a set on disco#info is an error, never a result."""
    c = raw.logged_in('bob')
    res = c.iq("<query xmlns='%s'/>" % NS_INFO, 'set', to=DOMAIN)
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) in ('bad-request', 'not-allowed',
                                    'feature-not-implemented',
                                    'service-unavailable')


def test_disco_info_unknown_node(raw):
    """XEP-0030 section 3.2: a node the server does not know is
    item-not-found (or service-unavailable)."""
    c = raw.logged_in('bob')
    res = c.iq("<query xmlns='%s' node='urn:example:no-such-node'/>" % NS_INFO,
               to=DOMAIN)
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) in ('item-not-found', 'service-unavailable')
    assert res.tag == q(NS_CLIENT, 'iq')
