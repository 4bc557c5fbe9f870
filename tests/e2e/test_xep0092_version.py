"""XEP-0092 (Software Version) answered by the server."""

from magpie import DOMAIN
from rawxmpp import q, text_of

NS = 'jabber:iq:version'


def test_version_via_slixmpp(slix):
    """XEP-0092 section 3: name is Magpie, a version string is given."""
    async def body():
        c = await slix.client('alice', plugins=['xep_0092'], presence=False)
        iq = await c['xep_0092'].get_version(DOMAIN, timeout=5)
        assert iq['type'] == 'result'
        assert iq['software_version']['name'] == 'Magpie'
        assert iq['software_version']['version']
    slix.run(body())


def test_version_raw(raw):
    """XEP-0092 section 3: <query><name/><version/>[<os/>]</query>, no
    other children."""
    c = raw.logged_in('bob')
    res = c.iq("<query xmlns='%s'/>" % NS, to=DOMAIN)
    assert res.get('type') == 'result', text_of(res)
    query = res.find(q(NS, 'query'))
    assert query.find(q(NS, 'name')).text == 'Magpie'
    assert query.find(q(NS, 'version')).text.strip()
    assert {ch.tag for ch in query} <= {q(NS, 'name'), q(NS, 'version'),
                                        q(NS, 'os')}


def test_version_set_refused(raw):
    """XEP-0092 section 3 (query with get) and RFC 6120 8.2.3."""
    c = raw.logged_in('bob')
    res = c.iq("<query xmlns='%s'/>" % NS, 'set', to=DOMAIN)
    assert res.get('type') == 'error', text_of(res)
