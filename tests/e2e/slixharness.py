"""Runs slixmpp clients against the test server on a private asyncio loop,
with a timeout on every wait and every client disconnected at the end."""

import asyncio
import logging
import ssl

import slixmpp
from slixmpp.exceptions import IqError

from magpie import DOMAIN, HOST, USERS

log = logging.getLogger('e2e.slix')

DEFAULT_MECH = 'SCRAM-SHA-256'


class LoginFailed(AssertionError):
    pass


class Client(slixmpp.ClientXMPP):
    """A ClientXMPP that records what it receives in queues."""

    def __init__(self, jid, password, mech, channel_binding):
        super().__init__(jid, password, sasl_mech=mech)
        self.messages = asyncio.Queue()
        self.stream_errors = []
        self.add_event_handler('message', self.messages.put_nowait)
        self.add_event_handler('stream_error', self.stream_errors.append)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.whitespace_keepalive = False
        self.use_ipv6 = False
        self.auto_reconnect = False
        if not channel_binding:
            # slixmpp 1.8 only knows tls-unique; without -PLUS it would send
            # the 'y' flag, which a server offering -PLUS must refuse.
            mechs = self['feature_mechanisms']
            orig = mechs.sasl_callback

            def creds(required, optional):
                out = orig(required, optional)
                if 'channel_binding' in out:
                    out['channel_binding'] = None
                return out
            mechs.sasl_callback = creds

    async def get_dns_records(self, domain, port=None):
        # Never ask DNS: the server is on the loopback address we chose.
        return [(DOMAIN, HOST, port or self.address[1])]

    async def next_message(self, timeout=5.0, *, type_=None):
        """The next message received (of a type, when given)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError('%s: no message within %.1fs' %
                                     (self.boundjid, timeout))
            try:
                msg = await asyncio.wait_for(self.messages.get(), left)
            except asyncio.TimeoutError:
                raise AssertionError('%s: no message within %.1fs' %
                                     (self.boundjid, timeout))
            if type_ is None or msg['type'] == type_:
                return msg

    async def no_message(self, wait=1.0):
        try:
            msg = await asyncio.wait_for(self.messages.get(), wait)
        except asyncio.TimeoutError:
            return
        raise AssertionError('%s: unexpected message %s' % (self.boundjid,
                                                            msg))

    async def sync(self, timeout=5.0):
        """A round trip to the server, so that everything this client sent
        before has been processed (the server handles a stream in order)."""
        iq = self.make_iq_get(queryxmlns='urn:xmpp:ping', ito=DOMAIN)
        try:
            await iq.send(timeout=timeout)
        except IqError:
            pass


class SlixHarness:
    """Holds the clients of one test and the loop they run on."""

    def __init__(self, server):
        self.server = server
        self.clients = []
        self.loop = None

    def run(self, coro, timeout=30.0):
        """Runs a test body coroutine to completion within timeout."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            try:
                return loop.run_until_complete(asyncio.wait_for(coro, timeout))
            except asyncio.TimeoutError:
                raise AssertionError('test body did not finish within %.0fs'
                                     % timeout)
        finally:
            try:
                loop.run_until_complete(
                    asyncio.wait_for(self.disconnect_all(), 10))
            except Exception:  # the test result matters more
                log.exception('disconnecting clients')
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(
                    *pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)
            self.clients = []

    async def disconnect_all(self):
        for c in self.clients:
            await self.disconnect(c)

    async def disconnect(self, c, timeout=5.0):
        if c.transport is None:
            return
        try:
            await asyncio.wait_for(c.disconnect(wait=1.0), timeout)
        except asyncio.TimeoutError:
            c.abort()

    def new_client(self, user='alice', password=None, *, resource=None,
                   mech=DEFAULT_MECH, channel_binding=False, plugins=()):
        jid = '%s@%s' % (user, DOMAIN)
        if resource:
            jid += '/' + resource
        if password is None:
            password = USERS[user]
        c = Client(jid, password, mech, channel_binding)
        for p in plugins:
            c.register_plugin(p)
        self.clients.append(c)
        return c

    async def client(self, user='alice', password=None, *, resource=None,
                     mech=DEFAULT_MECH, channel_binding=False, plugins=(),
                     direct_tls=False, presence=True, priority=None,
                     timeout=10.0):
        """A logged-in, bound client (available unless presence=False)."""
        c = self.new_client(user, password, resource=resource, mech=mech,
                            channel_binding=channel_binding, plugins=plugins)
        await self.login(c, direct_tls=direct_tls, timeout=timeout)
        if presence:
            if priority is not None:
                c.send_presence(ppriority=priority)
            else:
                c.send_presence()
            await c.sync()
        return c

    async def login(self, c, *, direct_tls=False, timeout=10.0):
        loop = asyncio.get_running_loop()
        outcome = loop.create_future()

        def done(what):
            def handler(arg=None):
                if not outcome.done():
                    outcome.set_result((what, arg))
            return handler
        c.add_event_handler('session_start', done('session_start'))
        # failed_auth alone is not the end: slixmpp may try another mechanism
        c.add_event_handler('failed_all_auth', done('failed_all_auth'))
        c.add_event_handler('no_auth', done('no_auth'))
        c.add_event_handler('connection_failed', done('connection_failed'))
        c.add_event_handler('disconnected', done('disconnected'))
        c.add_event_handler('stream_error', done('stream_error'))
        port = self.server.tls_port if direct_tls else self.server.c2s_port
        c.connect((DOMAIN, port), use_ssl=direct_tls,
                  force_starttls=not direct_tls)
        try:
            what, arg = await asyncio.wait_for(outcome, timeout)
        except asyncio.TimeoutError:
            c.abort()
            raise LoginFailed('%s: no session within %.0fs' % (c.boundjid,
                                                               timeout))
        if what != 'session_start':
            c.abort()
            raise LoginFailed('%s: login ended with %s (%s)' %
                              (c.requested_jid, what, arg))
        return c
