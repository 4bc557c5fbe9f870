"""Idle streams: a stream that reads nothing for a few seconds frees its
parser (src/xmlstream.c, mp_xmlstream_trim); the next stanza goes to a new
parser that must see the same stream: the root's namespace declarations,
its end tag, whitespace keepalives."""

import time

from magpie import DOMAIN, USERS
from rawxmpp import NS_CLIENT, NS_SASL, q, text_of

# The sweep runs every 2 s and takes streams idle for 2 s: 5 s is past both.
IDLE = 5.0


def test_idle_clients_go_on(slix):
    """Two slixmpp clients idle past the sweep, then chat and ping."""
    async def body():
        import asyncio
        a = await slix.client('alice', resource='idle',
                              plugins=['xep_0199'])
        b = await slix.client('bob', resource='idle')
        await asyncio.sleep(IDLE)
        a.send_message(mto=b.boundjid.full, mbody='after idle', mtype='chat')
        msg = await b.next_message()
        assert msg['body'] == 'after idle'
        await asyncio.sleep(IDLE)
        b.send_message(mto=a.boundjid.full, mbody='reply', mtype='chat')
        msg = await a.next_message()
        assert msg['body'] == 'reply'
        assert await a['xep_0199'].ping(jid=DOMAIN, timeout=5) is not None
    slix.run(body(), timeout=60)


def test_idle_stream_keeps_root_declarations(raw):
    """A prefix declared on the stream root binds in stanzas sent after the
    stream idled; whitespace keepalives are fine; the end tag still matches
    the root."""
    c = raw()
    c.open_stream()
    c.starttls()
    res = c.auth_scram('SCRAM-SHA-256', 'alice', USERS['alice'])
    assert res.tag == q(NS_SASL, 'success'), text_of(res)
    c.open_stream(extra=" xmlns:p='urn:xmpp:ping' xmlns:x='jabber:x:data'")
    c.bind('prefixed')
    time.sleep(IDLE)
    c.send(' \n ')
    time.sleep(0.5)
    c.send("<iq type='get' id='pp1' to='%s'><p:ping/></iq>" % DOMAIN)
    res = c.wait_for(lambda e: e.get('id') == 'pp1')
    assert res.tag == q(NS_CLIENT, 'iq') and res.get('type') == 'result', \
        text_of(res)
    time.sleep(IDLE)
    c.send('</stream:stream>')
    c.expect_stream_end()


def test_idle_stream_unbound_prefix(raw):
    """A prefix the root did not declare stays unbound after idling:
    bad-namespace-prefix, as before the stream idled."""
    c = raw.logged_in('bob', resource='unbound')
    time.sleep(IDLE)
    c.send("<iq type='get' id='u1'><q:ping/></iq>")
    c.expect_stream_error('bad-namespace-prefix')
