"""XEP-0357 push notifications: enabling and disabling registrations, the
summary notification published to the app server when the user has no live
connection (all sessions gone, or hibernating under XEP-0198), none while a
connected session is available, the body only when configured, and the
message still kept in offline storage."""

import time

import pytest

from magpie import DOMAIN
from rawxmpp import NS_CLIENT, NS_STANZAS, error_condition, q, text_of

NS_PUSH = 'urn:xmpp:push:0'
NS_PUBSUB = 'http://jabber.org/protocol/pubsub'
NS_DATA = 'jabber:x:data'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
NS_SM = 'urn:xmpp:sm:3'
MODULES = ['disco', 'ping', 'roster', 'presence', 'offline', 'push']
APP = 'carol@%s/push' % DOMAIN
IQ = q(NS_CLIENT, 'iq')
MESSAGE = q(NS_CLIENT, 'message')
PUBLISH_OPTIONS = (
    "<x xmlns='jabber:x:data' type='submit'>"
    "<field var='FORM_TYPE'><value>"
    "http://jabber.org/protocol/pubsub#publish-options</value></field>"
    "<field var='secret'><value>s3cr3t</value></field></x>")


def bare(user):
    return '%s@%s' % (user, DOMAIN)


@pytest.fixture
def srv(server_factory):
    return server_factory(modules=MODULES,
                          overrides={'c2s': {'resume_timeout': 30}})


def enable(c, node='n1', jid=APP, form=''):
    r = c.iq("<enable xmlns='%s' jid='%s' node='%s'>%s</enable>"
             % (NS_PUSH, jid, node, form), 'set')
    assert r.get('type') == 'result', text_of(r)


def gone(c, probe, full):
    """Closes c's socket abruptly and waits until the server ended the
    session (an iq to its full JID then bounces)."""
    c.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = probe.iq("<ping xmlns='urn:xmpp:ping'/>", to=full)
        if r.get('type') == 'error':
            return
        time.sleep(0.1)
    raise AssertionError('session %s still there' % full)


def is_publish(e):
    return e.tag == IQ and e.get('type') == 'set' and \
        e.find(q(NS_PUBSUB, 'pubsub')) is not None


def fields(notification):
    x = notification.find(q(NS_DATA, 'x'))
    assert x is not None and x.get('type') == 'submit', text_of(notification)
    return {f.get('var'): f.findtext(q(NS_DATA, 'value'))
            for f in x.findall(q(NS_DATA, 'field'))}


def expect_publish(carol, node='n1'):
    """The publish iq the app server gets; answered with a result."""
    e = carol.wait_for(is_publish, 5.0, 'push publish')
    assert e.get('from') == bare('alice'), text_of(e)
    assert e.get('to') == APP, text_of(e)
    pub = e.find('%s/%s' % (q(NS_PUBSUB, 'pubsub'), q(NS_PUBSUB, 'publish')))
    assert pub is not None and pub.get('node') == node, text_of(e)
    n = pub.find('%s/%s' % (q(NS_PUBSUB, 'item'), q(NS_PUSH, 'notification')))
    assert n is not None, text_of(e)
    carol.send("<iq type='result' id='%s' to='%s'/>"
               % (e.get('id'), bare('alice')))
    return e, fields(n)


def send_chat(sender, to, body):
    sender.send("<message to='%s' type='chat'><body>%s</body></message>"
                % (to, body))


def test_account_advertises_push(raw, srv):
    """XEP-0357 4: the user's server advertises urn:xmpp:push:0 on the
    account's bare JID."""
    a = raw.logged_in('alice', resource='phone', server=srv)
    r = a.iq("<query xmlns='%s'/>" % NS_DISCO_INFO, to=bare('alice'))
    feats = [f.get('var') for f in r.iter(q(NS_DISCO_INFO, 'feature'))]
    assert NS_PUSH in feats, text_of(r)


def test_enable_needs_jid_and_node(raw, srv):
    """XEP-0357 5: enable carries the app server's jid and a node; without
    them it is a bad request; nobody else can enable for an account."""
    a = raw.logged_in('alice', resource='phone', server=srv)
    r = a.iq("<enable xmlns='%s' jid='%s'/>" % (NS_PUSH, APP), 'set')
    assert error_condition(r.find(q(NS_CLIENT, 'error'))) == 'bad-request'
    r = a.iq("<enable xmlns='%s' node='n1'/>" % NS_PUSH, 'set')
    assert error_condition(r.find(q(NS_CLIENT, 'error'))) == 'bad-request'
    r = a.iq("<disable xmlns='%s'/>" % NS_PUSH, 'set')
    assert error_condition(r.find(q(NS_CLIENT, 'error'))) == 'bad-request'
    r = a.iq("<enable xmlns='%s' jid='%s' node='n1'/>" % (NS_PUSH, APP),
             'set', to=bare('bob'))
    assert r.get('type') == 'error', text_of(r)
    assert r.find('%s/%s' % (q(NS_CLIENT, 'error'),
                             q(NS_STANZAS, 'service-unavailable'))) \
        is not None, text_of(r)


def test_notification_when_disconnected(raw, srv):
    """XEP-0357 7: a message for a user with no session left makes one
    publish to the registered node, from the user's bare JID, with the
    urn:xmpp:push:summary form (sender, count, no body by default); the
    message itself still goes to offline storage (XEP-0160)."""
    carol = raw.logged_in('carol', resource='push', server=srv)
    a = raw.logged_in('alice', resource='phone', server=srv)
    enable(a)
    gone(a, carol, bare('alice') + '/phone')
    b = raw.logged_in('bob', resource='desk', server=srv)
    send_chat(b, bare('alice'), 'hello there')
    e, f = expect_publish(carol)
    assert f.get('FORM_TYPE') == 'urn:xmpp:push:summary', f
    assert f.get('message-count') == '1', f
    assert f.get('last-message-sender') == bare('bob') + '/desk', f
    assert 'last-message-body' not in f, f
    assert e.find('%s/%s' % (q(NS_PUBSUB, 'pubsub'),
                             q(NS_PUBSUB, 'publish-options'))) is None
    carol.no_element(1.0)       # exactly one notification
    a2 = raw.logged_in('alice', resource='phone2', server=srv)
    a2.presence()
    m = a2.wait_for(lambda x: x.tag == MESSAGE, 5.0, 'offline message')
    assert m.findtext(q(NS_CLIENT, 'body')) == 'hello there', text_of(m)
    # The app server's result was swallowed: the server is fine.
    r = carol.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    assert r.get('type') == 'result', text_of(r)


def test_notification_when_hibernating(raw, srv):
    """XEP-0357 7 with XEP-0198: a session whose connection died but that
    waits for resumption is no live connection; the notification carries
    the publish-options form given on enable, and is made once per
    registration even for a message to the full JID."""
    carol = raw.logged_in('carol', resource='push', server=srv)
    a = raw.logged_in('alice', resource='phone', server=srv)
    a.send("<enable xmlns='%s' resume='true'/>" % NS_SM)
    a.wait_for(lambda x: x.tag == q(NS_SM, 'enabled'))
    a.presence()
    enable(a, 'n1', form=PUBLISH_OPTIONS)
    enable(a, 'n2')
    a.close()
    time.sleep(0.5)
    b = raw.logged_in('bob', resource='desk', server=srv)
    send_chat(b, bare('alice') + '/phone', 'while asleep')
    got = {}
    for _ in range(2):
        e = carol.wait_for(is_publish, 5.0, 'push publish')
        pub = e.find('%s/%s' % (q(NS_PUBSUB, 'pubsub'),
                                q(NS_PUBSUB, 'publish')))
        got[pub.get('node')] = e
    carol.no_element(1.0)
    assert sorted(got) == ['n1', 'n2']
    opts = got['n1'].find('%s/%s/%s' % (q(NS_PUBSUB, 'pubsub'),
                                        q(NS_PUBSUB, 'publish-options'),
                                        q(NS_DATA, 'x')))
    assert opts is not None, text_of(got['n1'])
    vals = {f.get('var'): f.findtext(q(NS_DATA, 'value'))
            for f in opts.findall(q(NS_DATA, 'field'))}
    assert vals.get('secret') == 's3cr3t', text_of(opts)
    assert got['n2'].find('%s/%s' % (q(NS_PUBSUB, 'pubsub'),
                                     q(NS_PUBSUB, 'publish-options'))) is None


def test_disable_stops_notifications(raw, srv):
    """XEP-0357 6: after disable (one node, then all nodes of the app
    server) no notification is sent."""
    carol = raw.logged_in('carol', resource='push', server=srv)
    a = raw.logged_in('alice', resource='phone', server=srv)
    enable(a, 'n1')
    enable(a, 'n2')
    enable(a, 'n3')
    r = a.iq("<disable xmlns='%s' jid='%s' node='n1'/>" % (NS_PUSH, APP),
             'set')
    assert r.get('type') == 'result', text_of(r)
    gone(a, carol, bare('alice') + '/phone')
    b = raw.logged_in('bob', resource='desk', server=srv)
    send_chat(b, bare('alice'), 'one')
    nodes = set()
    for _ in range(2):
        e = carol.wait_for(is_publish, 5.0, 'push publish')
        nodes.add(e.find('%s/%s' % (q(NS_PUBSUB, 'pubsub'),
                                    q(NS_PUBSUB, 'publish'))).get('node'))
    assert nodes == {'n2', 'n3'}
    carol.no_element(1.0)
    a = raw.logged_in('alice', resource='phone', server=srv)
    r = a.iq("<disable xmlns='%s' jid='%s'/>" % (NS_PUSH, APP), 'set')
    assert r.get('type') == 'result', text_of(r)
    gone(a, carol, bare('alice') + '/phone')
    send_chat(b, bare('alice'), 'two')
    carol.no_element(1.5)


def test_no_notification_while_connected(raw, srv):
    """XEP-0357 7: a user with a connected, available session gets the
    message there and no notification goes out."""
    carol = raw.logged_in('carol', resource='push', server=srv)
    a = raw.logged_in('alice', resource='phone', server=srv)
    enable(a)
    a.presence()
    b = raw.logged_in('bob', resource='desk', server=srv)
    send_chat(b, bare('alice'), 'direct')
    m = a.wait_for(lambda x: x.tag == MESSAGE, 5.0, 'message')
    assert m.findtext(q(NS_CLIENT, 'body')) == 'direct'
    carol.no_element(1.5)


def test_include_body(server_factory, raw):
    """XEP-0357 7 and 10: with push.include_body the summary carries the
    message body."""
    srv = server_factory(modules=MODULES,
                         overrides={'push': {'include_body': True}})
    carol = raw.logged_in('carol', resource='push', server=srv)
    a = raw.logged_in('alice', resource='phone', server=srv)
    enable(a)
    gone(a, carol, bare('alice') + '/phone')
    b = raw.logged_in('bob', resource='desk', server=srv)
    send_chat(b, bare('alice'), 'see you &amp; soon')
    _, f = expect_publish(carol)
    assert f.get('last-message-body') == 'see you & soon', f


def test_registrations_removed_with_account(raw, srv):
    """XEP-0357 5 with account removal: the registrations are the user's
    data and go when the account is deleted (magpiectl user del)."""
    a = raw.logged_in('alice', resource='phone', server=srv)
    enable(a, 'n1', form=PUBLISH_OPTIONS)
    a.close()
    srv.stop()
    res = srv.ctl('user', 'data', bare('alice'))
    assert 'push.registrations' in res.stdout, res.stdout
    srv.ctl('user', 'del', bare('alice'))
    res = srv.ctl('user', 'data', bare('alice'), check=False)
    assert 'push.registrations' not in res.stdout, res.stdout
    srv.start()
