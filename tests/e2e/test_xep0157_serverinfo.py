"""XEP-0157 (Contact Addresses for XMPP Services): the configured addresses
as a XEP-0128 form in the server's disco#info; bad addresses stop start-up
with file:line."""

import re
import subprocess

import pytest

import magpie
from magpie import DOMAIN, render_config
from rawxmpp import q, text_of

NS_INFO = 'http://jabber.org/protocol/disco#info'
NS_DATA = 'jabber:x:data'
FORM_TYPE = 'http://jabber.org/network/serverinfo'
MODULES = ['disco', 'ping', 'serverinfo']
LINE_RE = re.compile(r'^(?P<file>[^:\n]+):(?P<line>\d+): (?P<why>.+)$')

CONFIGURED = {
    'abuse': ['mailto:abuse@example.org', 'xmpp:abuse@example.org'],
    'admin': ['xmpp:admin@example.org'],
    'security': ['https://example.org/security?lang=en&x=1',
                 'mailto:security@example.org'],
    'support': ['xmpp:support@conference.example.org?join'],
}


def serverinfo_forms(res):
    assert res.get('type') == 'result', text_of(res)
    query = res.find(q(NS_INFO, 'query'))
    out = []
    for x in query.findall(q(NS_DATA, 'x')):
        ft = [f for f in x.findall(q(NS_DATA, 'field'))
              if f.get('var') == 'FORM_TYPE']
        if ft and [v.text for v in ft[0].findall(q(NS_DATA, 'value'))] == \
                [FORM_TYPE]:
            out.append(x)
    return out


def fields_of(form):
    return {f.get('var'): (f.get('type'),
                           [v.text for v in f.findall(q(NS_DATA, 'value'))])
            for f in form.findall(q(NS_DATA, 'field'))}


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    if not magpie.binaries_present():
        pytest.skip('magpied not built')
    srv = magpie.MagpieServer(tmp_path_factory.mktemp('serverinfo'),
                              {'serverinfo': CONFIGURED}, modules=MODULES)
    srv.add_users()
    srv.start()
    yield srv
    srv.check_stopped_cleanly()


def test_form_raw(raw):
    """XEP-0157 section 3 and XEP-0128 section 2: one result form with the
    hidden FORM_TYPE http://jabber.org/network/serverinfo, one list-multi
    field per configured kind, values in configured order; kinds without
    addresses are left out."""
    c = raw.logged_in('alice')
    res = c.iq("<query xmlns='%s'/>" % NS_INFO, to=DOMAIN)
    forms = serverinfo_forms(res)
    assert len(forms) == 1, text_of(res)
    form = forms[0]
    assert form.get('type') == 'result'
    fields = fields_of(form)
    assert fields.pop('FORM_TYPE') == ('hidden', [FORM_TYPE])
    want = {'%s-addresses' % k: ('list-multi', v)
            for k, v in CONFIGURED.items()}
    assert fields == want, fields
    # FORM_TYPE comes first (XEP-0068 section 3, XEP-0128 section 2)
    assert form.find(q(NS_DATA, 'field')).get('var') == 'FORM_TYPE'


def test_form_via_slixmpp(slix):
    """XEP-0128 with slixmpp's xep_0030/xep_0128: the form is read as
    extended disco#info."""
    async def body():
        c = await slix.client('bob', plugins=['xep_0030', 'xep_0128'],
                              presence=False)
        iq = await c['xep_0030'].get_info(jid=DOMAIN, timeout=5)
        forms = [f for f in iq['disco_info'].xml.findall(q(NS_DATA, 'x'))]
        assert len(forms) == 1
        form = iq['disco_info']['form']
        values = form.get_values()
        assert values['FORM_TYPE'] in (FORM_TYPE, [FORM_TYPE])
        assert values['admin-addresses'] == ['xmpp:admin@example.org']
        assert values['abuse-addresses'] == CONFIGURED['abuse']
        assert 'sales-addresses' not in values
    slix.run(body())


def test_account_info_has_no_form(raw):
    """XEP-0157 section 3: the addresses describe the service, so an
    account's disco#info does not carry them."""
    c = raw.logged_in('alice')
    res = c.iq("<query xmlns='%s'/>" % NS_INFO, to='bob@' + DOMAIN)
    assert serverinfo_forms(res) == [], text_of(res)


def test_no_addresses_no_form(server_factory, raw):
    """With the module loaded but nothing configured there is no
    serverinfo form (XEP-0128: no empty extension)."""
    srv = server_factory(modules=MODULES)
    c = raw.logged_in('alice', server=srv)
    res = c.iq("<query xmlns='%s'/>" % NS_INFO, to=DOMAIN)
    assert serverinfo_forms(res) == [], text_of(res)


BAD = ['abuse@example.org', 'mailto:', ':nothing', 'mail to:x',
       'mailto:a b@example.org', '1http://example.org',
       'http://example.org/\u00e9', 'mailto:<abuse@example.org>']


@pytest.mark.parametrize('bad', BAD)
def test_bad_address_check(ctl_env, tmp_path, bad):
    """A value that is not a URI (RFC 3986 section 3: scheme ":" ...) is a
    config error: magpiectl check prints file:line of the setting and the
    value, and exits 1."""
    conf = dict(ctl_env.config)
    conf['modules'] = MODULES
    text = render_config(conf) + (
        'serverinfo = {\n'
        '  admin = [ "xmpp:admin@example.org" ];\n'
        '  abuse = [ "mailto:abuse@example.org",\n'
        '            "%s" ];\n'
        '};\n' % bad)
    path = tmp_path / 'bad.conf'
    path.write_text(text)
    res = ctl_env.ctl('check', config=path, check=False)
    assert res.returncode == 1, (res.stdout, res.stderr)
    want = next(i for i, ln in enumerate(text.splitlines(), 1)
                if 'abuse = [' in ln)
    lines = [LINE_RE.match(ln) for ln in res.stderr.splitlines()]
    hits = [m for m in lines if m and m.group('file') == str(path) and
            int(m.group('line')) == want and 'abuse' in m.group('why')]
    assert hits, res.stderr
    assert 'element 2' in hits[0].group('why'), res.stderr


def test_good_addresses_check(ctl_env, tmp_path):
    """Valid URIs of several schemes pass magpiectl check."""
    conf = dict(ctl_env.config)
    conf['modules'] = MODULES
    conf['serverinfo'] = CONFIGURED
    path = tmp_path / 'good.conf'
    path.write_text(render_config(conf))
    res = ctl_env.ctl('check', config=path, check=False)
    assert res.returncode == 0, res.stderr


def test_bad_address_stops_magpied(server_factory):
    """magpied refuses to start on a bad address (exit non-zero, the same
    file:line message)."""
    srv = server_factory(start=False, users=False, modules=MODULES)
    srv.config['serverinfo'] = {'support': ['support at example.org']}
    srv.write_config()
    res = subprocess.run([str(magpie.MAGPIED), '-c', str(srv.conf_path),
                          '-f'], capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    out = res.stderr + res.stdout
    assert re.search(r'%s:\d+: serverinfo\.support: ' %
                     re.escape(str(srv.conf_path)), out), out


def test_not_a_list(ctl_env, tmp_path):
    """An address kind must be a list of strings."""
    conf = dict(ctl_env.config)
    conf['modules'] = MODULES
    conf['serverinfo'] = {'admin': 'xmpp:admin@example.org'}
    path = tmp_path / 'bad.conf'
    path.write_text(render_config(conf))
    res = ctl_env.ctl('check', config=path, check=False)
    assert res.returncode == 1
    assert 'serverinfo.admin' in res.stderr, res.stderr
