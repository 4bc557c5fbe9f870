"""XEP-0198 stream management: enabling, <r/>/<a/> counting, resumption
after the TCP connection died (unacknowledged stanzas resent, then new ones
flow), a resumption token only its own user can use, the resumption timeout
sending unacknowledged messages to offline storage, and a bogus h."""

import time

import pytest

from magpie import DOMAIN, USERS
from rawxmpp import NS_CLIENT, q, text_of

NS_SM = 'urn:xmpp:sm:3'
MODULES = ['disco', 'ping', 'roster', 'presence', 'offline']
MESSAGE = q(NS_CLIENT, 'message')


def bare(user):
    return '%s@%s' % (user, DOMAIN)


@pytest.fixture
def srv(server_factory):
    return server_factory(modules=MODULES,
                          overrides={'c2s': {'resume_timeout': 3}})


def sm_client(raw, srv, user, resource, presence=True):
    """Bound, available (unless presence=False), with resumable stream
    management; returns the client and the resumption id."""
    c = raw.logged_in(user, resource=resource, server=srv)
    c.send("<enable xmlns='%s' resume='true'/>" % NS_SM)
    e = c.wait_for(lambda x: x.tag == q(NS_SM, 'enabled'))
    assert e.get('resume') == 'true' and e.get('id'), text_of(e)
    if presence:
        c.presence()
    return c, e.get('id')


def bodies(c, n, timeout=5.0):
    got = []
    while len(got) < n:
        e = c.wait_for(lambda x: x.tag == MESSAGE, timeout, 'message')
        got.append(e.findtext(q(NS_CLIENT, 'body')))
    return got


def send_msgs(sender, to, texts):
    for t in texts:
        sender.send("<message to='%s' type='chat'><body>%s</body></message>"
                    % (to, t))
    sender.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)


def resume(raw, srv, user, previd, h):
    c = raw(server=srv)
    c.login(user, USERS[user], bind=False)
    c.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, previd, h))
    return c


def test_feature_and_counting(raw, srv):
    """XEP-0198 4: <sm/> offered after authentication; <r/> answered with
    the number of stanzas handled."""
    c = raw.logged_in('alice', resource='count', server=srv)
    assert c.feature(NS_SM, 'sm') is not None
    c.send("<enable xmlns='%s'/>" % NS_SM)
    e = c.wait_for(lambda x: x.tag == q(NS_SM, 'enabled'))
    assert e.get('id') is None, 'no resumption asked, no id'
    for _ in range(3):
        c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    c.send("<r xmlns='%s'/>" % NS_SM)
    a = c.wait_for(lambda x: x.tag == q(NS_SM, 'a'))
    assert a.get('h') == '3', text_of(a)


def test_enable_before_bind_fails(raw, srv):
    """XEP-0198 4: enabling before a resource is bound fails."""
    c = raw(server=srv)
    c.login('alice', USERS['alice'], bind=False)
    c.send("<enable xmlns='%s'/>" % NS_SM)
    e = c.wait_for(lambda x: x.tag == q(NS_SM, 'failed'))
    assert e.find(q('urn:ietf:params:xml:ns:xmpp-stanzas',
                    'unexpected-request')) is not None, text_of(e)


def test_resume_after_tcp_loss(raw, srv):
    """XEP-0198 5: messages sent before and while the connection was down
    arrive exactly once, in order, after resumption; then new ones flow."""
    a, previd = sm_client(raw, srv, 'alice', 'phone')
    b = raw.logged_in('bob', resource='desk', server=srv)
    send_msgs(b, bare('alice') + '/phone', ['m1', 'm2', 'm3'])
    assert bodies(a, 3) == ['m1', 'm2', 'm3']
    a.close()                       # no ack, no </stream:stream>
    time.sleep(0.3)
    send_msgs(b, bare('alice') + '/phone', ['m4', 'm5'])
    c = resume(raw, srv, 'alice', previd, 0)
    r = c.wait_for(lambda x: x.tag == q(NS_SM, 'resumed'))
    assert r.get('previd') == previd, text_of(r)
    assert bodies(c, 5) == ['m1', 'm2', 'm3', 'm4', 'm5']
    send_msgs(b, bare('alice') + '/phone', ['m6'])
    assert bodies(c, 1) == ['m6']
    c.send("<a xmlns='%s' h='6'/>" % NS_SM)
    assert c.is_open()


def test_resume_acknowledged_not_resent(raw, srv):
    """XEP-0198 5: what the client acknowledged in <resume h> is not sent
    again (no presence here, so the three messages are all it was sent)."""
    a, previd = sm_client(raw, srv, 'alice', 'tab', presence=False)
    b = raw.logged_in('bob', resource='desk2', server=srv)
    send_msgs(b, bare('alice') + '/tab', ['x1', 'x2', 'x3'])
    assert bodies(a, 3) == ['x1', 'x2', 'x3']
    a.close()
    time.sleep(0.3)
    c = resume(raw, srv, 'alice', previd, 2)
    c.wait_for(lambda x: x.tag == q(NS_SM, 'resumed'))
    assert bodies(c, 1) == ['x3']


def test_stolen_previd_fails(raw, srv):
    """XEP-0198 5: a resumption id is only good for its own user."""
    a, previd = sm_client(raw, srv, 'alice', 'stolen')
    a.close()
    time.sleep(0.3)
    c = resume(raw, srv, 'bob', previd, 0)
    e = c.wait_for(lambda x: x.tag == q(NS_SM, 'failed'))
    assert e.find(q('urn:ietf:params:xml:ns:xmpp-stanzas',
                    'item-not-found')) is not None, text_of(e)
    # bob can still bind normally on that stream
    c.bind('after-failed')


def test_timeout_sends_to_offline(raw, srv):
    """XEP-0198 5: when the session is not resumed in time, its
    unacknowledged messages are not lost: offline storage takes them and
    they arrive at the next login."""
    a, previd = sm_client(raw, srv, 'alice', 'gone')
    b = raw.logged_in('bob', resource='desk3', server=srv)
    send_msgs(b, bare('alice') + '/gone', ['t1', 't2'])
    assert bodies(a, 2) == ['t1', 't2']
    a.close()
    time.sleep(0.3)
    send_msgs(b, bare('alice'), ['t3'])
    time.sleep(4.0)                 # resume_timeout is 3 s
    c = resume(raw, srv, 'alice', previd, 0)
    c.wait_for(lambda x: x.tag == q(NS_SM, 'failed'))
    c.bind('back')
    c.presence()
    assert bodies(c, 3) == ['t1', 't2', 't3']


def test_handled_count_too_high(raw, srv):
    """XEP-0198 5: an <a/> acknowledging more than was sent ends the stream
    with undefined-condition and <handled-count-too-high/>."""
    c, _ = sm_client(raw, srv, 'alice', 'bogus')
    c.send("<a xmlns='%s' h='99'/>" % NS_SM)
    e = c.wait_for(lambda x: x.tag == q('http://etherx.jabber.org/streams',
                                        'error'))
    assert e.find(q(NS_SM, 'handled-count-too-high')) is not None, text_of(e)
    c.wait_closed()


def test_unanswered_ping_hibernates(raw, server_factory):
    """XEP-0198 with XEP-0199: a client that stops answering is detected by
    the server's ping; its session hibernates (not ended), so the client
    can still resume it."""
    srv = server_factory(modules=MODULES, overrides={
        'c2s': {'idle_timeout': 5, 'ping_timeout': 2, 'resume_timeout': 30}})
    a, previd = sm_client(raw, srv, 'alice', 'quiet')
    deadline = time.monotonic() + 15
    while 'did not answer a ping' not in srv.log_text():
        assert time.monotonic() < deadline, srv.log_tail()
        time.sleep(0.2)
    c = resume(raw, srv, 'alice', previd, 0)
    r = c.wait_for(lambda x: x.tag == q(NS_SM, 'resumed'))
    assert r.get('previd') == previd, text_of(r)


def test_server_ping_is_counted(raw, server_factory):
    """XEP-0198 4: every stanza the server sends counts, its own pings
    included: acknowledging a ping with h=1 is accepted."""
    srv = server_factory(modules=MODULES, overrides={
        'c2s': {'idle_timeout': 5, 'ping_timeout': 5}})
    c = raw.logged_in('bob', resource='pinged', server=srv)
    c.send("<enable xmlns='%s'/>" % NS_SM)
    c.wait_for(lambda x: x.tag == q(NS_SM, 'enabled'))
    ping = c.wait_for(lambda x: x.tag == q(NS_CLIENT, 'iq') and
                      x.get('type') == 'get', 10.0, 'server ping')
    c.send("<iq type='result' id='%s' to='%s'/>" % (ping.get('id'), DOMAIN))
    c.send("<a xmlns='%s' h='1'/>" % NS_SM)
    c.iq("<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    assert c.is_open()
