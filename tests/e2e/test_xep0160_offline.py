"""XEP-0160 (Best Practices for Handling Offline Messages) with XEP-0203
delay stamps and XEP-0334 storage hints: what is stored for a user without an
available resource, what is refused, and delivery on initial presence, also
after a restart."""

import datetime
import itertools
import re
import time

import pytest

from magpie import DOMAIN
from rawxmpp import NS_CLIENT, error_condition, q, text_of

MODULES = ['disco', 'ping', 'offline']
MSG = q(NS_CLIENT, 'message')
IQ = q(NS_CLIENT, 'iq')
NS_DELAY = 'urn:xmpp:delay'
NS_HINTS = 'urn:xmpp:hints'
NS_CHATSTATES = 'http://jabber.org/protocol/chatstates'
STAMP_RX = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')
_ids = itertools.count(1)


def bare(user):
    return '%s@%s' % (user, DOMAIN)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def parse_stamp(s):
    assert STAMP_RX.match(s), s
    return datetime.datetime.strptime(s[:19], '%Y-%m-%dT%H:%M:%S').replace(
        tzinfo=datetime.timezone.utc)


def collect(c, timeout=5.0):
    """Pings the server and returns the messages received before the answer
    (the server handles a stream in order, so everything it delivered
    because of what c sent before has arrived)."""
    return [e for e in c.sync(DOMAIN, timeout) if e.tag == MSG]


def login(raw, srv, user, *, resource=None, presence=True, priority=None):
    """A bound raw client; returns it and the messages that came with its
    initial presence."""
    c = raw.logged_in(user, server=srv, resource=resource)
    if presence:
        c.presence(priority)
    return c, collect(c)


def send(c, to, body='hello', *, type_='chat', id_=None, extra='',
         with_body=True):
    id_ = id_ or 'm%d' % next(_ids)
    t = " type='%s'" % type_ if type_ is not None else ''
    b = '<body>%s</body>' % body if with_body else ''
    c.send("<message to='%s'%s id='%s'>%s%s</message>" % (to, t, id_, b,
                                                        extra))
    return id_


def bodies(msgs):
    return [m.findtext(q(NS_CLIENT, 'body')) for m in msgs]


def errors(msgs):
    return [m for m in msgs if m.get('type') == 'error']


def our_delays(m):
    return [d for d in m.findall(q(NS_DELAY, 'delay'))
            if d.get('from') == DOMAIN]


def test_stored_across_restart_delivered_in_order(server_factory, raw,
                                                  slix_for):
    """XEP-0160 section 2 and 3: normal and chat messages to an offline user
    are stored (the server takes responsibility: they survive a restart)
    and delivered in order when the user sends initial presence, with a
    XEP-0203 delay from the server whose stamp is the time of storage; they
    are delivered once."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob', resource='desk')
    t0 = utc_now()
    types = ['chat', 'normal', None, 'chat', 'normal']
    for i, t in enumerate(types):
        send(bob, bare('alice'), 'offline %d' % i, type_=t)
    assert errors(collect(bob)) == []
    t1 = utc_now() + datetime.timedelta(seconds=1)
    bob.close()
    assert srv.stop() == 0, srv.log_tail()
    srv.start()

    h = slix_for(srv)

    async def body():
        c = await h.client('alice', plugins=['xep_0203'])
        got = [await c.next_message(5) for _ in types]
        await c.no_message(0.5)
        return [(m['body'], str(m['from']), m['type'], m['delay']['from'],
                 m['delay']['stamp']) for m in got]
    got = h.run(body())
    assert [g[0] for g in got] == ['offline %d' % i for i in range(5)]
    for (text, frm, type_, dfrom, stamp), t in zip(got, types):
        assert frm == bare('bob') + '/desk'
        assert type_ == (t or 'normal')
        assert str(dfrom) == DOMAIN
        assert t0 <= stamp <= t1, (stamp, t0, t1)

    # Delivered once: nothing is left for the next session.
    _, again = login(raw, srv, 'alice')
    assert again == [], [text_of(m) for m in again]


def test_delay_stamp_and_forged_delay(server_factory, raw):
    """XEP-0203 section 3 on the delivered message: one <delay/> from the
    server with a UTC XEP-0082 stamp; a sender's delay claiming to be from
    the server is not passed on, another entity's delay is."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    forged = ("<delay xmlns='%s' from='%s' stamp='2001-01-01T00:00:00Z'/>"
              "<delay xmlns='%s' from='elsewhere.example' "
              "stamp='2002-02-02T00:00:00Z'/>" % (NS_DELAY, DOMAIN, NS_DELAY))
    t0 = utc_now()
    send(bob, bare('alice'), 'stamped', extra=forged)
    assert errors(collect(bob)) == []
    t1 = utc_now() + datetime.timedelta(seconds=1)
    _, got = login(raw, srv, 'alice')
    assert bodies(got) == ['stamped']
    ours = our_delays(got[0])
    assert len(ours) == 1, text_of(got[0])
    assert t0 <= parse_stamp(ours[0].get('stamp')) <= t1
    others = [d for d in got[0].findall(q(NS_DELAY, 'delay'))
              if d.get('from') == 'elsewhere.example']
    assert len(others) == 1, text_of(got[0])


def test_many_messages_keep_their_order(server_factory, raw):
    """XEP-0160 section 2: stored messages come out in the order they were
    sent, as many as were stored."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    for i in range(60):
        send(bob, bare('alice'), 'n%02d' % i, type_='chat')
    assert errors(collect(bob)) == []
    _, got = login(raw, srv, 'alice')
    assert bodies(got) == ['n%02d' % i for i in range(60)]


def test_headline_and_chat_states_not_stored(server_factory, raw):
    """XEP-0160 section 3: headline is not stored (and not bounced); a chat
    message with only XEP-0085 content is not stored either."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    send(bob, bare('alice'), 'news', type_='headline')
    send(bob, bare('alice'), type_='chat', with_body=False,
         extra="<composing xmlns='%s'/>" % NS_CHATSTATES)
    send(bob, bare('alice'), 'after', type_='chat',
         extra="<active xmlns='%s'/>" % NS_CHATSTATES)
    assert errors(collect(bob)) == []
    _, got = login(raw, srv, 'alice')
    assert bodies(got) == ['after'], [text_of(m) for m in got]


def test_storage_hints(server_factory, raw):
    """XEP-0334 section 4: <no-store/> keeps a message out of storage (the
    sender learns it was not delivered: RFC 6121 8.5.2.2.1
    service-unavailable); <store/> stores even a headline."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    mid = send(bob, bare('alice'), 'secret', extra="<no-store xmlns='%s'/>"
               % NS_HINTS)
    send(bob, bare('alice'), 'keep this', type_='headline',
         extra="<store xmlns='%s'/>" % NS_HINTS)
    got = collect(bob)
    assert [m.get('id') for m in errors(got)] == [mid], \
        [text_of(m) for m in got]
    assert error_condition(got[0]) == 'service-unavailable'
    _, got = login(raw, srv, 'alice')
    assert bodies(got) == ['keep this']
    assert got[0].get('type') == 'headline'


def test_groupchat_and_error_not_stored(server_factory, raw):
    """XEP-0160 section 3: groupchat is not stored (RFC 6121 8.5.2.1.1: the
    sender gets service-unavailable); type error is neither stored nor
    answered."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    gid = send(bob, bare('alice'), 'room talk', type_='groupchat')
    send(bob, bare('alice'), 'oops', type_='error')
    got = collect(bob)
    assert [m.get('id') for m in errors(got)] == [gid]
    assert error_condition(got[0]) == 'service-unavailable'
    _, got = login(raw, srv, 'alice')
    assert got == [], [text_of(m) for m in got]


def test_quota_gives_service_unavailable(server_factory, raw):
    """XEP-0160 section 2 step 3: when the user's offline queue is full the
    server returns service-unavailable and stores nothing more; once the
    queue was delivered there is room again."""
    srv = server_factory({'offline': {'max_per_user': 3}}, modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    ids = [send(bob, bare('alice'), 'q%d' % i) for i in range(5)]
    got = collect(bob)
    errs = errors(got)
    assert [m.get('id') for m in errs] == ids[3:], \
        [text_of(m) for m in got]
    for e in errs:
        assert error_condition(e) == 'service-unavailable', text_of(e)
        assert e.find(q(NS_CLIENT, 'error')).get('type') == 'cancel'
        assert e.get('from') == bare('alice'), text_of(e)
    alice, got = login(raw, srv, 'alice')
    assert bodies(got) == ['q0', 'q1', 'q2']
    alice.close()
    time.sleep(0.3)
    send(bob, bare('alice'), 'room again')
    assert errors(collect(bob)) == []


def test_storage_full_gives_resource_constraint(server_factory, raw):
    """RFC 6120 8.3.3.18 and XEP-0160: when the store itself is full the
    sender gets a resource-constraint error (type wait), never silence; what
    was stored before is still delivered."""
    srv = server_factory({'storage': {'map_size_mb': 1, 'max_map_size_mb': 1},
                          'offline': {'max_per_user': 1000}},
                         modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    big = 'x' * 200000
    ids = [send(bob, bare('alice'), '%d:%s' % (i, big)) for i in range(12)]
    got = collect(bob, timeout=15)
    errs = errors(got)
    assert errs, 'a 1 MB store took 12 messages of 200 kB'
    for e in errs:
        assert error_condition(e) == 'resource-constraint', text_of(e)
        assert e.find(q(NS_CLIENT, 'error')).get('type') == 'wait'
    refused = {e.get('id') for e in errs}
    stored = [i for i, mid in enumerate(ids) if mid not in refused]
    assert stored, 'nothing stored at all'
    _, got = login(raw, srv, 'alice')
    assert [b.split(':', 1)[0] for b in bodies(got)] == \
        [str(i) for i in stored]


def test_unknown_user_service_unavailable(server_factory, raw):
    """RFC 6121 8.5.2.2.1 / 8.5.1: a message to a user that does not exist
    is not stored; the sender gets service-unavailable."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    mid = send(bob, bare('nobody'), 'anyone?')
    got = collect(bob)
    assert [m.get('id') for m in errors(got)] == [mid]
    assert error_condition(got[0]) == 'service-unavailable'


def test_no_delivery_before_initial_presence(server_factory, raw):
    """XEP-0160 section 2 (and RFC 6121 8.5.2.2.1): a bound session that has
    not sent presence, or only negative priority, gets nothing; the
    messages wait and come with the first non-negative presence."""
    srv = server_factory(modules=MODULES)
    alice, _ = login(raw, srv, 'alice', presence=False)
    bob, _ = login(raw, srv, 'bob')
    send(bob, bare('alice'), 'first')
    assert errors(collect(bob)) == []
    assert collect(alice) == []
    alice.presence(-1)
    assert collect(alice) == []
    send(bob, bare('alice'), 'second')
    assert errors(collect(bob)) == []
    assert collect(alice) == []
    alice.presence(0)
    got = collect(alice)
    assert bodies(got) == ['first', 'second']
    assert all(len(our_delays(m)) == 1 for m in got)
    # Now available: messages go straight through, without a delay.
    send(bob, bare('alice'), 'live')
    collect(bob)
    got = collect(alice)
    assert bodies(got) == ['live'] and our_delays(got[0]) == []


def test_unavailable_full_jid_is_stored(server_factory, raw):
    """RFC 6121 8.5.3.2.1: a chat message to a resource that is not there
    is treated as sent to the bare JID, so it is stored offline."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    send(bob, bare('alice') + '/gone', 'to a resource', type_='chat')
    assert errors(collect(bob)) == []
    _, got = login(raw, srv, 'alice', resource='new')
    assert bodies(got) == ['to a resource']
    assert got[0].get('from').startswith(bare('bob') + '/')


def test_user_deleted_drops_messages(server_factory, raw):
    """XEP-0160 with account removal: a removed account's stored messages
    go with it (a new account of the same name gets none)."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    send(bob, bare('alice'), 'for the old alice')
    assert errors(collect(bob)) == []
    bob.close()
    assert srv.stop() == 0
    srv.ctl('user', 'del', bare('alice'))
    srv.ctl('user', 'add', bare('alice'), 'alice-Secret-1')
    srv.start()
    _, got = login(raw, srv, 'alice')
    assert got == [], [text_of(m) for m in got]


def test_disco_advertises_msgoffline(server_factory, raw):
    """XEP-0160 section 4: the server lists the "msgoffline" feature."""
    srv = server_factory(modules=MODULES)
    c, _ = login(raw, srv, 'alice', presence=False)
    res = c.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>",
               to=DOMAIN)
    feats = {f.get('var') for f in res.iter(
        q('http://jabber.org/protocol/disco#info', 'feature'))}
    assert 'msgoffline' in feats, text_of(res)


@pytest.mark.parametrize('bad', [
    "<body>x</body><no-store xmlns='urn:xmpp:hints'/>"
    "<store xmlns='urn:xmpp:hints'/>",
    "<body/>",
    "<thread>only-a-thread</thread>",
])
def test_odd_messages_do_not_break_storage(server_factory, raw, bad):
    """XEP-0334 section 4 with conflicting hints and XEP-0160 with empty
    content: the server keeps running, nothing odd is delivered, and an
    ordinary message after them is stored and delivered."""
    srv = server_factory(modules=MODULES)
    bob, _ = login(raw, srv, 'bob')
    bob.send("<message to='%s' type='chat' id='odd'>%s</message>" %
             (bare('alice'), bad))
    collect(bob)
    send(bob, bare('alice'), 'normal one')
    assert errors(collect(bob)) == []
    _, got = login(raw, srv, 'alice')
    assert bodies(got)[-1] == 'normal one'
    assert len(got) <= 2
