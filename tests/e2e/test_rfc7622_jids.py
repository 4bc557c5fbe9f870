"""RFC 7622: JID preparation as the server applies it to stream headers,
logins, bound resources and stanza addresses."""

import pytest

from magpie import DOMAIN, USERS
from rawxmpp import NS_CLIENT, NS_STREAM, error_condition, q, text_of

MSG = q(NS_CLIENT, 'message')


def online(raw, user, resource):
    c = raw.logged_in(user, resource=resource)
    c.presence()
    c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    return c


@pytest.mark.parametrize('to', ['LOCALHOST', 'LocalHost', 'localhost.'],
                         ids=['upper', 'mixed', 'trailing-dot'])
def test_domain_in_header_is_case_insensitive(raw, to):
    """RFC 7622 3.2 (domainpart case-folded; a trailing dot is removed,
    3.2.1/3.2.2 via RFC 5890): the header 'to' matches our host; the answer
    names the domain in its canonical form."""
    c = raw()
    attrs = c.open_stream(to=to)
    assert attrs.get('from') == DOMAIN
    assert c.features.tag == q(NS_STREAM, 'features')


def test_login_with_uppercase_username(raw):
    """RFC 7622 3.3 and RFC 6120 6.3.7: the SASL username is prepared with
    the UsernameCaseMapped profile, so 'ALICE' is alice."""
    c = raw()
    jid = c.login('ALICE', USERS['alice'], mech='PLAIN')
    assert jid.startswith('alice@%s/' % DOMAIN), jid


def test_resource_is_nfc_normalised(raw):
    """RFC 7622 3.4 (OpaqueString, RFC 8265 4.2): a resource with a
    combining accent is bound in NFC form."""
    c = raw()
    jid = c.login('alice', USERS['alice'], resource='Cafe\u0301')
    assert jid == 'alice@%s/Caf\u00e9' % DOMAIN, jid


def test_resource_keeps_case_and_spaces(raw):
    """RFC 7622 3.4: resources are case-sensitive and may hold spaces."""
    c = raw()
    jid = c.login('alice', USERS['alice'], resource='My Phone')
    assert jid == 'alice@%s/My Phone' % DOMAIN
    c2 = raw()
    jid2 = c2.login('alice', USERS['alice'], resource='my phone')
    assert jid2 == 'alice@%s/my phone' % DOMAIN
    assert c.is_open(0.3), 'different case is a different resource'


def test_addresses_prepared_before_routing(raw):
    """RFC 7622 3.2 and 3.3: 'BOB@LocalHost' names bob@localhost."""
    a = online(raw, 'alice', 'jid1')
    b = online(raw, 'bob', 'jid1')
    a.send("<message to='BOB@LocalHost' type='chat' id='c1'><body>x</body>"
           "</message>")
    m = b.wait_for(lambda e: e.tag == MSG)
    assert m.get('id') == 'c1'


def test_full_jid_with_prepared_resource(raw):
    """RFC 7622 3.4: a decomposed resource in 'to' matches the NFC-bound
    resource."""
    a = online(raw, 'alice', 'jid2')
    b = raw.logged_in('bob', resource='Caf\u00e9')
    a.send("<message to='bob@%s/Cafe\u0301' type='chat' id='n1'><body>x"
           "</body></message>" % DOMAIN)
    m = b.wait_for(lambda e: e.tag == MSG)
    assert m.get('id') == 'n1'


def test_resource_with_at_and_slash(raw):
    """RFC 7622 3.1: the resourcepart is everything after the first '/',
    and may contain '@' and '/'."""
    c = raw()
    jid = c.login('alice', USERS['alice'], resource='a@b/c')
    assert jid == 'alice@%s/a@b/c' % DOMAIN
    a = online(raw, 'bob', 'jid3')
    a.send("<message to='alice@%s/a@b/c' type='chat' id='s1'><body>x</body>"
           "</message>" % DOMAIN)
    m = c.wait_for(lambda e: e.tag == MSG)
    assert m.get('id') == 's1'


@pytest.mark.parametrize('to', [
    'al\u00ecce@' + DOMAIN,            # fine: non-ASCII localpart, unknown
])
def test_valid_unicode_localpart_is_not_malformed(raw, to):
    """RFC 7622 3.3: non-ASCII letters are allowed in localparts; an
    unknown such user gets service-unavailable, not jid-malformed."""
    a = online(raw, 'alice', 'jid4')
    a.send("<message to='%s' type='chat' id='u1'><body>x</body></message>"
           % to)
    e = a.wait_for(lambda x: x.tag == MSG and x.get('id') == 'u1')
    assert error_condition(e) == 'service-unavailable', text_of(e)
