"""Fixtures of the end-to-end suite: a real magpied per test module (or per
test, for special configs), raw-socket clients and slixmpp clients."""

import os

import pytest

import magpie
import rawxmpp
from slixharness import SlixHarness


def pytest_configure(config):
    config.addinivalue_line('markers', 'needs_server: test runs magpied')


def _require_binaries():
    if not magpie.binaries_present():
        msg = ('magpied/magpiectl not built in %s (set MAGPIE_BUILDDIR)' %
               magpie.BUILDDIR)
        if os.environ.get('MAGPIE_E2E_REQUIRE'):
            pytest.fail(msg)
        pytest.skip(msg)


def _start(tmp_path, overrides=None, modules=None, users=True):
    srv = magpie.MagpieServer(tmp_path, overrides, modules)
    if users:
        srv.add_users()
    srv.start()
    return srv


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """The module's shared server with alice, bob and carol."""
    _require_binaries()
    srv = _start(tmp_path_factory.mktemp('magpie'))
    yield srv
    srv.check_stopped_cleanly()


@pytest.fixture
def server_factory(request, tmp_path_factory):
    """Starts servers with config overrides for one test; each must exit 0
    on SIGTERM at the end unless the test already stopped it."""
    _require_binaries()
    started = []

    def make(overrides=None, modules=None, users=True, start=True):
        d = tmp_path_factory.mktemp('magpie')
        if start:
            srv = _start(d, overrides, modules, users)
        else:
            srv = magpie.MagpieServer(d, overrides, modules)
            if users:
                srv.add_users()
        started.append(srv)
        _note_server(request, srv)
        return srv
    yield make
    errors = []
    for srv in started:
        if srv.proc is None:
            continue
        try:
            srv.check_stopped_cleanly()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail('\n'.join(errors))


@pytest.fixture
def ctl_env(tmp_path):
    """A config and data folder for magpiectl without a running server."""
    _require_binaries()
    return magpie.MagpieServer(tmp_path / 'ctl')


def _note_server(request, srv):
    """Remembers which servers a test used, for the failure report."""
    servers = getattr(request.node, 'magpie_servers', None)
    if servers is None:
        servers = request.node.magpie_servers = []
    if srv not in servers:
        servers.append(srv)


class RawFactory:
    def __init__(self, request):
        self.request = request
        self.clients = []

    @property
    def server(self):
        srv = self.request.getfixturevalue('server')
        _note_server(self.request, srv)
        return srv

    def __call__(self, *, direct_tls=False, server=None, **kw):
        srv = server or self.server
        port = srv.tls_port if direct_tls else srv.c2s_port
        c = rawxmpp.RawClient(magpie.HOST, port, direct_tls=direct_tls, **kw)
        self.clients.append(c)
        return c

    def logged_in(self, user='alice', *, resource=None, server=None,
                  direct_tls=False, **kw):
        """A raw client that is authenticated and bound."""
        c = self(server=server, direct_tls=direct_tls)
        c.login(user, magpie.USERS[user], resource=resource, **kw)
        return c

    def close(self):
        for c in self.clients:
            c.close()


@pytest.fixture
def raw(request):
    """Factory of raw-socket clients to the module's server (started on
    first use) or to another one passed as server=."""
    f = RawFactory(request)
    yield f
    f.close()


@pytest.fixture
def slix(request, server):
    """slixmpp clients against the module's server: slix.run(body())."""
    _note_server(request, server)
    return SlixHarness(server)


@pytest.fixture
def slix_for():
    """slixmpp harness for a server of the test's own: slix_for(srv)."""
    return SlixHarness


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    # A failing test shows the last log lines of the servers it used.
    if rep.when == 'call' and rep.failed:
        servers = list(getattr(item, 'magpie_servers', []))
        srv = item.funcargs.get('server') if hasattr(item, 'funcargs') \
            else None
        if srv is not None and srv not in servers:
            servers.insert(0, srv)
        for i, srv in enumerate(servers):
            rep.sections.append(('magpied log tail (%s)' % srv.dir,
                                 srv.log_tail(40)))
