"""XEP-0352 client state indication: while a client says it is inactive,
presence and body-less messages (chat states) wait; they are flushed in
order when it becomes active, or just before a message that matters."""

from magpie import DOMAIN
from rawxmpp import NS_CLIENT, q

NS_CSI = 'urn:xmpp:csi:0'
CHATSTATE = "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
STANZAS = (q(NS_CLIENT, 'message'), q(NS_CLIENT, 'presence'))


def full(user, res):
    return '%s@%s/%s' % (user, DOMAIN, res)


def stanzas_from(c, frm, n, timeout=5.0):
    got = []
    while len(got) < n:
        got.append(c.wait_for(lambda x: x.tag in STANZAS and
                              x.get('from') == frm, timeout, 'stanza'))
    return got


def kind(e):
    if e.tag == q(NS_CLIENT, 'presence'):
        return 'presence'
    body = e.findtext(q(NS_CLIENT, 'body'))
    return 'body:' + body if body is not None else 'state'


def test_feature_offered(raw, server):
    """XEP-0352 4: <csi/> is a stream feature after authentication."""
    c = raw.logged_in('alice', resource='feat')
    assert c.feature(NS_CSI, 'csi') is not None


def test_inactive_holds_until_active(raw, server):
    """XEP-0352 6: held presence and chat states arrive, in order, once the
    client is active again."""
    a = raw.logged_in('alice', resource='csi1')
    b = raw.logged_in('bob', resource='csi1b')
    a.send("<inactive xmlns='%s'/>" % NS_CSI)
    a.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    b.send("<message to='%s' type='chat'>%s</message>" %
           (full('alice', 'csi1'), CHATSTATE))
    b.send("<presence to='%s'/>" % full('alice', 'csi1'))
    b.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    a.no_element(1.0)               # held, not sent
    a.send("<active xmlns='%s'/>" % NS_CSI)
    kinds = [kind(e) for e in stanzas_from(a, full('bob', 'csi1b'), 2)]
    assert kinds == ['state', 'presence'], kinds


def test_message_that_matters_flushes_first(raw, server):
    """XEP-0352 6: a message with a body is delivered at once, after what
    was held before it."""
    a = raw.logged_in('alice', resource='csi2')
    b = raw.logged_in('bob', resource='csi2b')
    a.send("<inactive xmlns='%s'/>" % NS_CSI)
    a.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    b.send("<message to='%s' type='chat'>%s</message>" %
           (full('alice', 'csi2'), CHATSTATE))
    b.send("<message to='%s' type='chat'><body>hi</body></message>" %
           full('alice', 'csi2'))
    kinds = [kind(e) for e in stanzas_from(a, full('bob', 'csi2b'), 2)]
    assert kinds == ['state', 'body:hi'], kinds
