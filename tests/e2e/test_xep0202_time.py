"""XEP-0202 (Entity Time) answered by the server."""

import datetime
import re

from magpie import DOMAIN
from rawxmpp import q, text_of

NS = 'urn:xmpp:time'
UTC_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')
TZO_RE = re.compile(r'^([+-]\d\d:\d\d|Z)$')


def parse_utc(text):
    return datetime.datetime.strptime(text.split('.')[0].rstrip('Z'),
                                      '%Y-%m-%dT%H:%M:%S').replace(
                                          tzinfo=datetime.timezone.utc)


def check_time(tzo, utc):
    assert TZO_RE.match(tzo), tzo
    assert UTC_RE.match(utc), utc
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((parse_utc(utc) - now).total_seconds()) < 60, utc


def test_time_via_slixmpp(slix):
    """XEP-0202 section 3 (tzo per XEP-0082, utc in UTC with Z). slixmpp
    1.8's own tzo/utc getters are broken (xep_0082.parse), so the values
    are read from the XML of the result slixmpp returns."""
    async def body():
        c = await slix.client('alice', plugins=['xep_0202'], presence=False)
        iq = await c['xep_0202'].get_entity_time(DOMAIN, timeout=5)
        assert iq['type'] == 'result'
        t = iq.xml.find(q(NS, 'time'))
        assert t is not None, iq
        check_time(t.find(q(NS, 'tzo')).text, t.find(q(NS, 'utc')).text)
    slix.run(body())


def test_time_raw(raw):
    """XEP-0202 section 3: <time><tzo/><utc/></time>."""
    c = raw.logged_in('bob')
    res = c.iq("<time xmlns='%s'/>" % NS, to=DOMAIN)
    assert res.get('type') == 'result', text_of(res)
    t = res.find(q(NS, 'time'))
    check_time(t.find(q(NS, 'tzo')).text, t.find(q(NS, 'utc')).text)
