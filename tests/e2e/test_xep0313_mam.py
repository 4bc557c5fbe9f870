"""XEP-0313 (Message Archive Management, urn:xmpp:mam:2 and #extended) for
user archives, with XEP-0059 result set management, XEP-0359 stanza-ids,
XEP-0441 preferences and XEP-0334 storage hints: what is archived, how a
query pages through it, and who may read it."""

import itertools
import re
import subprocess
import time

import pytest

from magpie import DOMAIN, MAGPIECTL
from rawxmpp import NS_CLIENT, error_condition, q, text_of

MODULES = ['disco', 'ping', 'roster', 'presence', 'offline', 'mam']
NS_MAM = 'urn:xmpp:mam:2'
NS_RSM = 'http://jabber.org/protocol/rsm'
NS_SID = 'urn:xmpp:sid:0'
NS_FORWARD = 'urn:xmpp:forward:0'
NS_DELAY = 'urn:xmpp:delay'
NS_XDATA = 'jabber:x:data'
NS_HINTS = 'urn:xmpp:hints'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
MSG = q(NS_CLIENT, 'message')
IQ = q(NS_CLIENT, 'iq')
STAMP_RX = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')
_ids = itertools.count(1)


def bare(user):
    return '%s@%s' % (user, DOMAIN)


def take(c, pred, timeout=5.0, what='element'):
    """The first element matching pred; the others stay queued."""
    skipped = []
    try:
        return c.wait_for(lambda e: pred(e) or skipped.append(e), timeout,
                          what)
    finally:
        c.elements[0:0] = skipped


def iq(c, body, type_='get', to=None, timeout=5.0):
    id_ = 'i%d' % next(_ids)
    c.send("<iq type='%s' id='%s'%s>%s</iq>" % (
        type_, id_, " to='%s'" % to if to else '', body))
    return take(c, lambda e: e.tag == IQ and e.get('id') == id_, timeout,
                'iq response %s' % id_)


def collect(c, timeout=5.0):
    """The messages received until a ping answer: everything the server did
    because of what c sent before has happened."""
    return [e for e in c.sync(DOMAIN, timeout) if e.tag == MSG]


def login(raw, srv, user, resource='r', presence=True):
    c = raw.logged_in(user, server=srv, resource=resource)
    if presence:
        c.presence()
        collect(c)
    return c


def send(c, to, body, type_='chat', extra=''):
    id_ = 'm%d' % next(_ids)
    c.send("<message to='%s' type='%s' id='%s'>%s%s</message>" % (
        to, type_, id_, '<body>%s</body>' % body if body is not None
        else '', extra))
    return id_


def stanza_ids(m, by=None):
    return [s for s in m.findall(q(NS_SID, 'stanza-id'))
            if by is None or s.get('by') == by]


def field(var, values):
    if isinstance(values, str):
        values = [values]
    return "<field var='%s'>%s</field>" % (var, ''.join(
        '<value>%s</value>' % v for v in values))


class Result:
    """One archived message as a query returned it."""

    def __init__(self, m, queryid):
        r = m.find(q(NS_MAM, 'result'))
        assert r is not None and r.get('queryid') == queryid, text_of(m)
        self.id = r.get('id')
        fwd = r.find(q(NS_FORWARD, 'forwarded'))
        delay = fwd.find(q(NS_DELAY, 'delay'))
        self.stamp = delay.get('stamp')
        assert STAMP_RX.match(self.stamp), self.stamp
        self.msg = fwd.find(MSG)
        assert self.msg is not None, text_of(m)
        self.body = self.msg.findtext(q(NS_CLIENT, 'body'))
        self.outer = m


class Fin:
    def __init__(self, res):
        self.iq = res
        fin = res.find(q(NS_MAM, 'fin'))
        assert fin is not None, text_of(res)
        self.complete = fin.get('complete') == 'true'
        rsm = fin.find(q(NS_RSM, 'set'))
        assert rsm is not None, text_of(res)
        first = rsm.find(q(NS_RSM, 'first'))
        self.first = first.text if first is not None else None
        self.index = first.get('index') if first is not None else None
        self.last = rsm.findtext(q(NS_RSM, 'last'))
        count = rsm.findtext(q(NS_RSM, 'count'))
        self.count = int(count) if count is not None else None


def mam_query(c, fields=(), rsm=None, flip=False, to=None, form=True,
              expect='result', timeout=5.0):
    """Runs a query; returns ([Result], Fin) or, for expect='error', the
    error condition."""
    queryid = 'q%d' % next(_ids)
    id_ = 'mam%d' % next(_ids)
    x = ''
    if form:
        x = ("<x xmlns='%s' type='submit'><field var='FORM_TYPE' "
             "type='hidden'><value>%s</value></field>%s</x>" %
             (NS_XDATA, NS_MAM, ''.join(fields)))
    s = ''
    if rsm is not None:
        s = "<set xmlns='%s'>%s</set>" % (NS_RSM, ''.join(
            '<%s/>' % k if v == '' else '<%s>%s</%s>' % (k, v, k)
            for k, v in rsm.items()))
    c.send("<iq type='set' id='%s'%s><query xmlns='%s' queryid='%s'>%s%s%s"
           "</query></iq>" % (id_, " to='%s'" % to if to else '', NS_MAM,
                              queryid, x, s, '<flip-page/>' if flip else ''))
    results = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, 'no answer to the query; %s' % c.describe()
        e = c.next_element(left)
        if e.tag == IQ and e.get('id') == id_:
            break
        if e.tag == MSG and e.find(q(NS_MAM, 'result')) is not None:
            assert e.get('from') == bare(c.jid.split('@')[0]), text_of(e)
            assert e.get('to') == c.jid, text_of(e)
            results.append(Result(e, queryid))
    if expect == 'error':
        assert e.get('type') == 'error', text_of(e)
        assert results == []
        return error_condition(e)
    assert e.get('type') == 'result', text_of(e)
    return results, Fin(e)


def conversation(alice, bob, n=25):
    """n chat messages alternating alice -> bob, bob -> alice: 'c0'..."""
    for i in range(n):
        if i % 2 == 0:
            send(alice, bare('bob'), 'c%d' % i)
        else:
            send(bob, bare('alice'), 'c%d' % i)
        # Keep the order global: each is archived before the next goes.
        collect(alice if i % 2 == 0 else bob)
    collect(alice)
    collect(bob)


@pytest.fixture
def mam(server_factory):
    return server_factory(modules=MODULES)


def test_paging_forward_and_backward(mam, raw):
    """XEP-0313 sections 4.3.1-4.3.3 with XEP-0059 sections 2.1-2.5: 25
    messages page forward by <after/> in 3 pages of max 10, complete='true'
    only on the last, with <first>, <last>, <count>; backward from an empty
    <before/> then by <before/>, each page in chronological order; both
    local users have the whole conversation in their archives (section
    6.1.1)."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    conversation(alice, bob)
    want = ['c%d' % i for i in range(25)]
    for c in (alice, bob):
        got, pages, after = [], [], None
        for _ in range(4):
            rsm = {'max': 10}
            if after:
                rsm['after'] = after
            res, fin = mam_query(c, rsm=rsm)
            pages.append((len(res), fin.complete))
            got += [r.body for r in res]
            assert fin.count == 25
            if res:
                assert (fin.first, fin.last) == (res[0].id, res[-1].id)
            if fin.complete:
                break
            after = fin.last
        assert pages == [(10, False), (10, False), (5, True)]
        assert got == want
        # Backward: the last page first.
        got, pages, before = [], [], ''
        for _ in range(4):
            res, fin = mam_query(c, rsm={'max': 10, 'before': before})
            pages.append((len(res), fin.complete))
            got = [r.body for r in res] + got
            if fin.complete:
                break
            before = fin.first
        assert pages == [(10, False), (10, False), (5, True)]
        assert got == want
    # Directions as seen from each archive.
    res, _ = mam_query(alice, rsm={'max': 2})
    assert [(r.msg.get('from').split('/')[0], r.msg.get('to'))
            for r in res] == [(bare('alice'), bare('bob')),
                              (bare('bob'), bare('alice'))]


def test_stanza_id_is_the_archive_id(mam, raw):
    """XEP-0313 section 3.5 / XEP-0359 section 3: a delivered message
    carries <stanza-id by='recipient bare JID'/> whose id is the archive id
    the recipient's query returns; the sender's archive has it under its
    own id, and the sender's copy is not marked."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    send(alice, bare('bob'), 'marked')
    collect(alice)
    got = collect(bob)
    assert len(got) == 1, [text_of(m) for m in got]
    sids = stanza_ids(got[0])
    assert len(sids) == 1 and sids[0].get('by') == bare('bob'), \
        text_of(got[0])
    sid = sids[0].get('id')
    res, fin = mam_query(bob, fields=[field('ids', sid)])
    assert [(r.id, r.body) for r in res] == [(sid, 'marked')]
    assert fin.complete
    mine, _ = mam_query(alice)
    assert [r.body for r in mine] == ['marked'] and mine[0].id != sid
    # XEP-0313 section 5: the metadata names the same message.
    md = iq(bob, "<metadata xmlns='%s'/>" % NS_MAM).find(q(NS_MAM,
                                                         'metadata'))
    assert md.find(q(NS_MAM, 'end')).get('id') == sid, text_of(md)
    assert md.find(q(NS_MAM, 'start')).get('id') == sid


def test_forged_stanza_id_is_stripped(mam, raw):
    """XEP-0359 section 3.2: a stanza-id claiming to come from the
    recipient's archive (any spelling of its JID) is removed before
    delivery and archiving; others' stanza-ids stay."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    send(alice, bare('bob'), 'forged', extra=(
        "<stanza-id xmlns='%s' by='%s' id='forged-1'/>"
        "<stanza-id xmlns='%s' by='BOB@%s' id='forged-2'/>"
        "<stanza-id xmlns='%s' by='elsewhere.example' id='other'/>" % (
            NS_SID, bare('bob'), NS_SID, DOMAIN, NS_SID)))
    collect(alice)
    got = collect(bob)
    assert len(got) == 1
    ours = stanza_ids(got[0], bare('bob'))
    assert len(ours) == 1 and not ours[0].get('id').startswith('forged'), \
        text_of(got[0])
    assert [s.get('id') for s in stanza_ids(got[0], 'elsewhere.example')] \
        == ['other']
    assert not [s for s in stanza_ids(got[0])
                if s.get('by', '').lower() == bare('bob') and
                s.get('id').startswith('forged')]
    res, _ = mam_query(bob)
    assert len(res) == 1 and res[0].id == ours[0].get('id')
    assert not [s for s in stanza_ids(res[0].msg)
                if s.get('id', '').startswith('forged')], text_of(res[0].msg)


def test_filters_with_time_ids_and_flip(mam, raw):
    """XEP-0313 sections 4.1.1-4.1.3 and 4.3.4: 'with' (bare and full JID),
    'start'/'end' (inclusive), 'before-id'/'after-id' (exclusive), 'ids',
    and <flip-page/> which reverses the order within the page only."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob', resource='desk')
    carol = login(raw, mam, 'carol')
    for i in range(12):
        send(alice, bare('bob') if i % 3 else bare('carol'), 'f%d' % i)
        collect(alice)
    send(bob, bare('alice'), 'from-bob')
    collect(bob)
    collect(carol)
    all_, fin = mam_query(alice)
    assert [r.body for r in all_] == ['f%d' % i for i in range(12)] + \
        ['from-bob']
    assert fin.complete and fin.count == 13

    res, fin = mam_query(alice, fields=[field('with', bare('carol'))])
    assert [r.body for r in res] == ['f0', 'f3', 'f6', 'f9']
    assert fin.count == 4
    res, _ = mam_query(alice, fields=[field('with', bare('bob') + '/desk')])
    assert [r.body for r in res] == ['from-bob']
    res, _ = mam_query(alice, fields=[field('with', bare('bob') + '/other')])
    assert res == []

    res, fin = mam_query(alice, fields=[field('start', all_[3].stamp),
                                        field('end', all_[6].stamp)])
    assert [r.body for r in res] == ['f3', 'f4', 'f5', 'f6']
    res, _ = mam_query(alice, fields=[field('start', '2000-01-01T00:00:00Z'),
                                      field('end', '2001-01-01T00:00:00Z')])
    assert res == []

    res, fin = mam_query(alice, fields=[field('after-id', all_[2].id),
                                        field('before-id', all_[7].id)])
    assert [r.body for r in res] == ['f3', 'f4', 'f5', 'f6']
    assert fin.complete and fin.count == 4

    res, _ = mam_query(alice, fields=[field('ids', [all_[8].id, all_[1].id])])
    assert [r.id for r in res] == [all_[1].id, all_[8].id]

    res, fin = mam_query(alice, rsm={'max': 4}, flip=True)
    assert [r.body for r in res] == ['f3', 'f2', 'f1', 'f0']
    assert not fin.complete
    res, fin = mam_query(alice, rsm={'max': 3, 'before': ''}, flip=True)
    assert [r.body for r in res] == ['from-bob', 'f11', 'f10']


def test_query_errors(mam, raw):
    """XEP-0313 sections 4.1.3, 4.1.5 and 4.3.2: an unknown id in
    before-id, after-id, ids, <after/> or <before/> is item-not-found; an
    unknown field is feature-not-implemented; a wrong FORM_TYPE, a bad
    date or a bad <max/> is bad-request; a page is capped by the server."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    send(alice, bare('bob'), 'one')
    collect(alice)
    res, _ = mam_query(alice)
    real = res[0].id
    ghost = '0' + real[1:] if real[0] != '0' else '1' + real[1:]
    for fields, rsm in (([field('before-id', ghost)], None),
                        ([field('after-id', 'not-an-id')], None),
                        ([field('ids', [real, ghost])], None),
                        ((), {'after': ghost}),
                        ((), {'before': 'x' * 26})):
        assert mam_query(alice, fields=fields, rsm=rsm, expect='error') == \
            'item-not-found', (fields, rsm)
    # bob's ids are not in alice's archive.
    bres, _ = mam_query(bob)
    assert mam_query(alice, fields=[field('ids', bres[0].id)],
                     expect='error') == 'item-not-found'
    assert mam_query(alice, fields=[field('{urn:example}search', 'x')],
                     expect='error') == 'feature-not-implemented'
    assert mam_query(alice, fields=[field('start', 'yesterday')],
                     expect='error') == 'bad-request'
    assert mam_query(alice, rsm={'max': '-1'}, expect='error') == \
        'bad-request'
    bad_type = iq(alice, "<query xmlns='%s'><x xmlns='%s' type='submit'>"
                  "<field var='FORM_TYPE'><value>urn:xmpp:mam:1</value>"
                  "</field></x></query>" % (NS_MAM, NS_XDATA), 'set')
    assert error_condition(bad_type) == 'bad-request', text_of(bad_type)
    # No form at all: everything.
    res, fin = mam_query(alice, form=False)
    assert [r.body for r in res] == ['one'] and fin.complete


def test_page_size_capped(server_factory, raw):
    """XEP-0313 section 4.3.1: the server limits a page (mam.max_page) even
    when the client asks for more, and says the result is not complete."""
    srv = server_factory(modules=MODULES, overrides={'mam': {'max_page': 3}})
    alice = login(raw, srv, 'alice')
    login(raw, srv, 'bob')
    for i in range(5):
        send(alice, bare('bob'), 'p%d' % i)
    collect(alice)
    res, fin = mam_query(alice, rsm={'max': 50})
    assert [r.body for r in res] == ['p0', 'p1', 'p2'] and not fin.complete
    res, fin = mam_query(alice)
    assert len(res) == 3 and not fin.complete and fin.count == 5
    res, fin = mam_query(alice, rsm={'max': 0})
    assert res == [] and fin.count == 5 and fin.first is None


def test_form_disco_and_metadata(mam, raw):
    """XEP-0313 sections 4.1.5, 5 and 7: the query form lists the fields
    (ids with an open xdata-validate), the account advertises urn:xmpp:mam:2
    and #extended, and an empty archive has empty metadata."""
    alice = login(raw, mam, 'alice')
    res = iq(alice, "<query xmlns='%s'/>" % NS_MAM)
    assert res.get('type') == 'result', text_of(res)
    x = res.find('%s/%s' % (q(NS_MAM, 'query'), q(NS_XDATA, 'x')))
    fields = {f.get('var'): f for f in x.findall(q(NS_XDATA, 'field'))}
    assert set(fields) >= {'FORM_TYPE', 'with', 'start', 'end', 'before-id',
                           'after-id', 'ids'}
    assert fields['with'].get('type') == 'jid-single'
    assert fields['ids'].find(
        '{http://jabber.org/protocol/xdata-validate}validate/'
        '{http://jabber.org/protocol/xdata-validate}open') is not None
    assert not x.findall('.//%s' % q(NS_XDATA, 'required'))
    info = iq(alice, "<query xmlns='%s'/>" % NS_DISCO_INFO, to=bare('alice'))
    feats = {f.get('var') for f in info.iter(q(NS_DISCO_INFO, 'feature'))}
    assert {NS_MAM, NS_MAM + '#extended'} <= feats, text_of(info)
    md = iq(alice, "<metadata xmlns='%s'/>" % NS_MAM)
    assert md.get('type') == 'result'
    assert list(md.find(q(NS_MAM, 'metadata'))) == []


def test_other_users_archive_is_forbidden(mam, raw):
    """XEP-0313 section 8.1: a query, the form, the metadata and the
    preferences of another user's archive are forbidden; nothing leaks."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    send(bob, bare('alice'), 'private')
    collect(bob)
    assert mam_query(alice, to=bare('bob'), expect='error') == 'forbidden'
    for body, type_ in (("<query xmlns='%s'/>" % NS_MAM, 'get'),
                        ("<metadata xmlns='%s'/>" % NS_MAM, 'get'),
                        ("<prefs xmlns='%s'/>" % NS_MAM, 'get'),
                        ("<prefs xmlns='%s' default='never'/>" % NS_MAM,
                         'set')):
        res = iq(alice, body, type_, to=bare('bob'))
        assert error_condition(res) == 'forbidden', text_of(res)
    assert [m for m in collect(alice)
            if m.find(q(NS_MAM, 'result')) is not None] == []
    # bob's own preferences are untouched.
    res = iq(bob, "<prefs xmlns='%s'/>" % NS_MAM)
    assert res.find(q(NS_MAM, 'prefs')).get('default') == 'always'


def prefs_set(c, default, always=(), never=()):
    def lst(name, jids):
        return '<%s>%s</%s>' % (name, ''.join('<jid>%s</jid>' % j
                                              for j in jids), name)
    res = iq(c, "<prefs xmlns='%s' default='%s'>%s%s</prefs>" % (
        NS_MAM, default, lst('always', always), lst('never', never)), 'set')
    assert res.get('type') == 'result', text_of(res)
    return res.find(q(NS_MAM, 'prefs'))


def prefs_lists(p):
    return (p.get('default'),
            [j.text for j in p.findall('%s/%s' % (q(NS_MAM, 'always'),
                                                  q(NS_MAM, 'jid')))],
            [j.text for j in p.findall('%s/%s' % (q(NS_MAM, 'never'),
                                                  q(NS_MAM, 'jid')))])


def test_preferences(mam, raw):
    """XEP-0441 (XEP-0313 preferences): default 'always' from the config;
    a 'never' JID is not archived in either direction, while others are;
    default 'never' with an 'always' JID archives only that one; the
    preferences read back as set; a bad default is bad-request."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    carol = login(raw, mam, 'carol')
    res = iq(alice, "<prefs xmlns='%s'/>" % NS_MAM)
    assert prefs_lists(res.find(q(NS_MAM, 'prefs'))) == ('always', [], [])
    p = prefs_set(alice, 'always', never=[bare('bob')])
    assert prefs_lists(p) == ('always', [], [bare('bob')])
    send(alice, bare('bob'), 'to-bob-1')
    send(alice, bare('carol'), 'to-carol-1')
    collect(alice)
    send(bob, bare('alice'), 'from-bob-1')
    collect(bob)
    send(carol, bare('alice'), 'from-carol-1')
    collect(carol)
    got = collect(alice)
    by_body = {m.findtext(q(NS_CLIENT, 'body')): m for m in got}
    # Not archived: no stanza-id on the delivered message.
    assert stanza_ids(by_body['from-bob-1'], bare('alice')) == []
    assert len(stanza_ids(by_body['from-carol-1'], bare('alice'))) == 1
    res, _ = mam_query(alice)
    assert [r.body for r in res] == ['to-carol-1', 'from-carol-1']
    # bob's own archive follows bob's preferences, not alice's.
    res, _ = mam_query(bob)
    assert [r.body for r in res] == ['to-bob-1', 'from-bob-1']

    p = prefs_set(alice, 'never', always=[bare('bob') + '/r'])
    assert prefs_lists(p) == ('never', [bare('bob') + '/r'], [])
    send(bob, bare('alice'), 'from-bob-2')      # bob/r: listed
    collect(bob)
    send(carol, bare('alice'), 'from-carol-2')
    collect(carol)
    collect(alice)
    res, _ = mam_query(alice)
    assert [r.body for r in res][-1] == 'from-bob-2'
    assert 'from-carol-2' not in [r.body for r in res]
    bad = iq(alice, "<prefs xmlns='%s' default='sometimes'/>" % NS_MAM,
             'set')
    assert error_condition(bad) == 'bad-request'
    bad = iq(alice, "<prefs xmlns='%s' default='always'><always><jid>@@"
             "</jid></always></prefs>" % NS_MAM, 'set')
    assert error_condition(bad) == 'jid-malformed'
    res = iq(alice, "<prefs xmlns='%s'/>" % NS_MAM)
    assert prefs_lists(res.find(q(NS_MAM, 'prefs')))[0] == 'never'


def test_roster_default(server_factory, raw):
    """XEP-0441 default='roster' (and mam.default_policy): only contacts in
    the user's roster are archived."""
    srv = server_factory(modules=MODULES,
                         overrides={'mam': {'default_policy': 'roster'}})
    alice = login(raw, srv, 'alice')
    bob = login(raw, srv, 'bob')
    carol = login(raw, srv, 'carol')
    res = iq(alice, "<prefs xmlns='%s'/>" % NS_MAM)
    assert res.find(q(NS_MAM, 'prefs')).get('default') == 'roster'
    res = iq(alice, "<query xmlns='jabber:iq:roster'><item jid='%s'/>"
             "</query>" % bare('carol'), 'set')
    assert res.get('type') == 'result', text_of(res)
    send(bob, bare('alice'), 'stranger')
    collect(bob)
    send(carol, bare('alice'), 'friend')
    collect(carol)
    collect(alice)
    res, _ = mam_query(alice)
    assert [r.body for r in res] == ['friend']


def test_what_is_not_archived(mam, raw):
    """XEP-0313 section 6.1.1 and XEP-0334: chat states without a body,
    headlines, errors and messages with <no-store/> or
    <no-permanent-store/> stay out; a <store/> hint without a body and a
    normal message with a body go in."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    send(alice, bare('bob'), None, extra="<active xmlns='http://jabber.org/"
         "protocol/chatstates'/>")
    send(alice, bare('bob'), 'news', type_='headline')
    send(alice, bare('bob'), 'oops', type_='error')
    send(alice, bare('bob'), 'secret',
         extra="<no-store xmlns='%s'/>" % NS_HINTS)
    send(alice, bare('bob'), 'ephemeral',
         extra="<no-permanent-store xmlns='%s'/>" % NS_HINTS)
    send(alice, bare('bob'), None, extra="<store xmlns='%s'/><x xmlns='urn:"
         "example'/>" % NS_HINTS)
    send(alice, bare('bob'), 'plain', type_='normal')
    collect(alice)
    got = collect(bob)
    for m in got:
        body = m.findtext(q(NS_CLIENT, 'body'))
        archived = body == 'plain' or m.find(q(NS_HINTS, 'store')) is not None
        assert bool(stanza_ids(m, bare('bob'))) == archived, text_of(m)
    for c in (alice, bob):
        res, _ = mam_query(c)
        assert len(res) == 2 and res[1].body == 'plain', \
            [text_of(r.msg) for r in res]
        assert res[0].msg.find(q(NS_HINTS, 'store')) is not None


def test_offline_and_full_jid_archived_once(mam, raw):
    """XEP-0313 section 6.1.1 (each message once per archive): a message
    to an offline user is archived once and the offline copy carries the
    stanza-id; a message to an unavailable full JID falls back to the bare
    JID and is also archived once; a message to oneself once."""
    alice = login(raw, mam, 'alice')
    send(alice, bare('bob'), 'while-away')
    send(alice, bare('bob') + '/gone', 'to-gone')
    send(alice, bare('alice'), 'note-to-self')
    collect(alice)
    bob = raw.logged_in('bob', server=mam, resource='back')
    bob.presence()
    got = collect(bob)
    sids = {m.findtext(q(NS_CLIENT, 'body')):
            [s.get('id') for s in stanza_ids(m, bare('bob'))] for m in got}
    assert set(sids) == {'while-away', 'to-gone'}, sids
    assert all(len(v) == 1 for v in sids.values()), sids
    res, fin = mam_query(bob)
    assert [(r.body, r.id) for r in res] == [
        ('while-away', sids['while-away'][0]),
        ('to-gone', sids['to-gone'][0])]
    res, _ = mam_query(alice)
    assert [r.body for r in res] == ['while-away', 'to-gone',
                                     'note-to-self']


def test_survives_restart(mam, raw):
    """XEP-0313 section 3: the archive is stored (committed before the
    message is delivered): after a restart the same messages come back
    under the same ids, and new ones follow them."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    conversation(alice, bob, 6)
    before, _ = mam_query(bob)
    alice.close()
    bob.close()
    assert mam.stop() == 0, mam.log_tail()
    mam.start()
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    after, fin = mam_query(bob)
    assert [(r.id, r.body, r.stamp) for r in after] == \
        [(r.id, r.body, r.stamp) for r in before]
    send(alice, bare('bob'), 'later')
    collect(alice)
    res, fin = mam_query(bob, rsm={'after': before[-1].id})
    assert [r.body for r in res] == ['later'] and fin.complete


def test_account_removal_removes_archive(mam, raw):
    """XEP-0313 section 8.1 with account removal: the user's archive and
    preferences go, the contact's archive stays."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    prefs_set(alice, 'always', never=[bare('carol')])
    conversation(alice, bob, 4)
    alice.close()
    bob.close()
    mam.stop()

    def mam_records(user):
        # Archive keys hold binary times that are not UTF-8: read bytes.
        res = subprocess.run([str(MAGPIECTL), '-c', str(mam.conf_path),
                              'user', 'data', bare(user)],
                             capture_output=True, timeout=60)
        assert res.returncode == 0, res.stderr
        return [ln.decode('utf-8', 'replace') for ln in
                res.stdout.splitlines() if ln.startswith(b'mam.')]
    assert {ln.split('\t')[0] for ln in mam_records('alice')} >= {
        'mam.archive', 'mam.with', 'mam.meta', 'mam.prefs'}
    mam.ctl('user', 'del', bare('alice'))
    assert mam_records('alice') == []
    assert mam_records('bob') != []
    mam.start()
    bob = login(raw, mam, 'bob')
    res, _ = mam_query(bob)
    assert len(res) == 4


def test_slixmpp_pages_through_the_archive(mam, raw, slix_for):
    """XEP-0313 with XEP-0059 as a client library uses it: slixmpp's
    xep_0313 iterates forward and backward over pages of 10 and reads the
    same 25 messages, and sees the features on the account."""
    alice = login(raw, mam, 'alice')
    bob = login(raw, mam, 'bob')
    conversation(alice, bob)
    alice.close()
    h = slix_for(mam)

    async def body():
        c = await h.client('alice', plugins=['xep_0030', 'xep_0059',
                                             'xep_0297', 'xep_0313'])
        info = await c['xep_0030'].get_info(jid=bare('alice'), timeout=5)
        feats = info['disco_info']['features']
        forward = [m['mam_result']['forwarded']['stanza']['body']
                   async for m in c['xep_0313'].iterate(rsm={'max': 10})]
        backward = [m['mam_result']['forwarded']['stanza']['body']
                    async for m in c['xep_0313'].iterate(rsm={'max': 10},
                                                         reverse=True)]
        return feats, forward, backward
    feats, forward, backward = h.run(body())
    assert NS_MAM in feats and NS_MAM + '#extended' in feats
    want = ['c%d' % i for i in range(25)]
    assert forward == want
    assert backward == list(reversed(want))


def test_config_is_validated(server_factory):
    """The mam section's directives are checked at start-up: a policy other
    than always, never or roster and an out-of-range page size are refused
    with the file and line; good values pass."""
    srv = server_factory(modules=MODULES, start=False, overrides={
        'mam': {'default_policy': 'sometimes'}})
    res = srv.ctl('check', check=False)
    assert res.returncode == 1 and 'default_policy' in res.stderr, \
        res.stderr
    assert re.search(r'magpie\.conf:\d+', res.stderr), res.stderr
    srv.config['mam'] = {'max_page': 0}
    srv.write_config()
    res = srv.ctl('check', check=False)
    assert res.returncode == 1 and 'max_page' in res.stderr, res.stderr
    srv.config['mam'] = {'max_page': 50, 'default_policy': 'never',
                         'retention_days': 30}
    srv.write_config()
    srv.ctl('check')


def test_hostile_queries(mam, raw):
    """Bad input never crashes or leaks: too many ids (not-acceptable), a
    'with' that is not a JID (jid-malformed), two values for one field, a
    non-numeric <index/>, an empty <after/>, a query with a 'node'
    (item-not-found), an oversized <max/>; the server answers each and
    keeps serving."""
    alice = login(raw, mam, 'alice')
    many = [field('ids', ['0' * 26] * 1001)]
    assert mam_query(alice, fields=many, expect='error') == 'not-acceptable'
    assert mam_query(alice, fields=[field('with', '@bad@')],
                     expect='error') == 'jid-malformed'
    assert mam_query(alice, fields=[field('start', ['2020-01-01T00:00:00Z',
                                                     '2021-01-01T00:00:00Z'])],
                     expect='error') == 'bad-request'
    assert mam_query(alice, rsm={'index': 'x'}, expect='error') == \
        'bad-request'
    assert mam_query(alice, rsm={'after': ''}, expect='error') == \
        'bad-request'
    assert mam_query(alice, rsm={'max': '9' * 40}, expect='error') == \
        'bad-request'
    res = iq(alice, "<query xmlns='%s' node='x'/>" % NS_MAM, 'set')
    assert error_condition(res) == 'item-not-found', text_of(res)
    res, fin = mam_query(alice, rsm={'max': '999999999', 'index': '5000'})
    assert res == [] and fin.complete and fin.count == 0
    send(alice, bare('bob'), 'still here')
    collect(alice)
    res, _ = mam_query(alice)
    assert [r.body for r in res] == ['still here']
