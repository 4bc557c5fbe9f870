"""magpiectl: account commands (checked by logging in to a running magpied),
`check` with its `file:line: why` lines, and `cert`."""

import copy
import re
import ssl
import subprocess

import pytest

import magpie
from magpie import DOMAIN, USERS, render_config
from rawxmpp import NS_SASL, q

LINE_RE = re.compile(r'^(?P<file>[^:\n]+):(?P<line>\d+): (?P<why>.+)$')


def can_login(raw, server, user, password):
    """True if SASL PLAIN succeeds for user/password on the live server."""
    c = raw(server=server)
    c.open_stream()
    c.starttls()
    res = c.auth_plain(user, password)
    c.close()
    return res.tag == q(NS_SASL, 'success')


# ---- accounts --------------------------------------------------------------

def test_user_add_passwd_del_against_running_server(server_factory, raw):
    """magpiectl user add / passwd / del take effect on the running server
    (shared store, RFC 6120 6 login as the check)."""
    srv = server_factory()
    jid = 'dave@' + DOMAIN
    srv.ctl('user', 'add', jid, 'first-pass')
    assert can_login(raw, srv, 'dave', 'first-pass')
    srv.ctl('user', 'passwd', jid, 'second-pass')
    assert not can_login(raw, srv, 'dave', 'first-pass')
    assert can_login(raw, srv, 'dave', 'second-pass')
    srv.ctl('user', 'del', jid)
    assert not can_login(raw, srv, 'dave', 'second-pass')


def test_user_add_password_from_stdin(server_factory, raw):
    """A missing PASSWORD is read from one line of standard input."""
    srv = server_factory(start=False)
    res = subprocess.run([str(magpie.MAGPIECTL), '-c',
                          str(srv.conf_path), 'user', 'add',
                          'erin@' + DOMAIN], input='stdin-pass\n',
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    srv.start()
    assert can_login(raw, srv, 'erin', 'stdin-pass')


def test_user_list(ctl_env):
    """user list prints one JID per line; a DOMAIN argument filters."""
    ctl_env.add_users()
    out = ctl_env.ctl('user', 'list').stdout.split()
    assert sorted(out) == sorted('%s@%s' % (u, DOMAIN) for u in USERS)
    out = ctl_env.ctl('user', 'list', DOMAIN).stdout.split()
    assert sorted(out) == sorted('%s@%s' % (u, DOMAIN) for u in USERS)
    res = ctl_env.ctl('user', 'list', 'example.org', check=False)
    assert res.returncode != 0 and res.stderr.strip()


def test_user_list_empty(ctl_env):
    """user list on a fresh store prints nothing and succeeds."""
    res = ctl_env.ctl('user', 'list')
    assert res.stdout.strip() == ''


def test_user_add_duplicate_fails(ctl_env):
    """Adding an existing account fails and keeps the old password."""
    ctl_env.ctl('user', 'add', 'alice@' + DOMAIN, 'one')
    res = ctl_env.ctl('user', 'add', 'alice@' + DOMAIN, 'two', check=False)
    assert res.returncode == 1, res
    assert res.stderr.strip()


def test_user_add_prepares_localpart(ctl_env):
    """RFC 7622 3.3: the localpart is case-mapped when stored."""
    ctl_env.ctl('user', 'add', 'Frank@' + DOMAIN.upper(), 'pw-frank')
    assert ctl_env.ctl('user', 'list').stdout.split() == ['frank@' + DOMAIN]
    res = ctl_env.ctl('user', 'add', 'FRANK@' + DOMAIN, 'x', check=False)
    assert res.returncode == 1


@pytest.mark.parametrize('jid', [
    'nolocal',                       # no @: a domain, not an account
    '@' + DOMAIN,
    'bad user@' + DOMAIN,
    'x@example.org',                 # not one of our hosts
    'alice@' + DOMAIN + '/res',      # resource not allowed for an account
    'a' * 1024 + '@' + DOMAIN,
])
def test_user_add_bad_jid_fails(ctl_env, jid):
    """RFC 7622: account JIDs must be valid bare JIDs on a served host."""
    res = ctl_env.ctl('user', 'add', jid, 'pw', check=False)
    assert res.returncode == 1, (jid, res.stdout, res.stderr)
    assert res.stderr.strip()
    assert ctl_env.ctl('user', 'list').stdout.strip() == ''


def test_user_add_empty_password_fails(ctl_env):
    res = ctl_env.ctl('user', 'add', 'gina@' + DOMAIN, '', check=False)
    assert res.returncode == 1


def test_user_del_and_passwd_unknown_fail(ctl_env):
    res = ctl_env.ctl('user', 'del', 'ghost@' + DOMAIN, check=False)
    assert res.returncode == 1 and res.stderr.strip()
    res = ctl_env.ctl('user', 'passwd', 'ghost@' + DOMAIN, 'pw', check=False)
    assert res.returncode == 1 and res.stderr.strip()


def test_usage_errors(ctl_env):
    """Unknown commands and missing arguments are usage errors (exit 2)."""
    for args in (['frobnicate'], ['user'], ['user', 'add'],
                 ['user', 'explode', 'x@' + DOMAIN], ['check', 'extra']):
        res = ctl_env.ctl(*args, check=False)
        assert res.returncode == 2, (args, res.returncode, res.stderr)
        assert 'usage' in res.stderr


# ---- check -----------------------------------------------------------------

def test_check_ok(ctl_env):
    """`check` on a valid file prints "FILE: OK" and exits 0."""
    res = ctl_env.ctl('check')
    assert res.stdout.strip() == '%s: OK' % ctl_env.conf_path


def write_conf(tmp_path, text):
    p = tmp_path / 'bad.conf'
    p.write_text(text)
    return p


def check_lines(ctl_env, path):
    res = ctl_env.ctl('check', config=path, check=False)
    assert res.returncode == 1, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines, 'no error lines'
    return res, lines


def line_of(text, needle):
    for i, ln in enumerate(text.splitlines(), 1):
        if needle in ln:
            return i
    raise AssertionError(needle)


@pytest.mark.parametrize('mutate,needle', [
    (lambda c: c.update(bogus_key=1), 'bogus_key'),
    (lambda c: c['c2s'].update(max_depth='deep'), 'max_depth'),
    (lambda c: c['auth'].update(iterations=-5), 'iterations'),
    (lambda c: c['listen'][0].update(port=70000), '70000'),
    (lambda c: c['listen'][0].update(type='s2s-bogus'), 's2s-bogus'),
    (lambda c: c['log'].update(level='chatty'), 'chatty'),
    (lambda c: c['hosts'][0].update(domain='bad domain'), 'bad domain'),
    (lambda c: c['modules'].append('no_such_module'), 'no_such_module'),
], ids=['unknown-key', 'bad-type', 'negative', 'port-range', 'listen-type',
        'log-level', 'bad-domain', 'unknown-module'])
def test_check_reports_file_and_line(ctl_env, tmp_path, mutate, needle):
    """`check` names the file and the line of each error and exits 1
    (DESIGN.md section 7: "file:line: what is wrong")."""
    conf = copy.deepcopy(ctl_env.config)
    mutate(conf)
    text = render_config(conf)
    path = write_conf(tmp_path, text)
    res, lines = check_lines(ctl_env, path)
    want = line_of(text, needle)
    parsed = [LINE_RE.match(ln) for ln in lines]
    assert any(m and m.group('file') == str(path) and
               int(m.group('line')) == want for m in parsed), \
        'no "%s:%d: ..." line in:\n%s' % (path, want, res.stderr)


def test_check_reports_every_error(ctl_env, tmp_path):
    """`check` reports all errors of a file, not only the first."""
    conf = copy.deepcopy(ctl_env.config)
    conf['unknown_one'] = 1
    conf['c2s']['max_depth'] = 'x'
    conf['unknown_two'] = 'y'
    text = render_config(conf)
    path = write_conf(tmp_path, text)
    res, lines = check_lines(ctl_env, path)
    got = {int(m.group('line')) for m in map(LINE_RE.match, lines) if m}
    for needle in ('unknown_one', 'max_depth', 'unknown_two'):
        assert line_of(text, needle) in got, res.stderr


def test_check_syntax_error(ctl_env, tmp_path):
    """A libconfig syntax error is reported with its line."""
    text = 'listen = ( { type = "c2s"; port = 5222; } );\nhosts = ( {\n' \
           'domain = "x" \n} ;\n'
    path = write_conf(tmp_path, text)
    res, lines = check_lines(ctl_env, path)
    m = LINE_RE.match(lines[0])
    assert m and m.group('file') == str(path), res.stderr


def test_check_missing_file(ctl_env, tmp_path):
    res = ctl_env.ctl('check', config=tmp_path / 'nope.conf', check=False)
    assert res.returncode == 1
    assert 'nope.conf' in res.stderr


def test_check_missing_required(ctl_env, tmp_path):
    """A file without hosts is refused (listeners have defaults)."""
    path = write_conf(tmp_path, 'log = { level = "info"; };\n')
    res, lines = check_lines(ctl_env, path)
    assert any('host' in ln for ln in lines), res.stderr


def test_magpied_refuses_bad_config(server_factory):
    """magpied itself refuses to start on a config error (exit non-zero,
    the same file:line message)."""
    srv = server_factory(start=False, users=False)
    srv.config['bogus_key'] = 1
    srv.write_config()
    res = subprocess.run([str(magpie.MAGPIED), '-c', str(srv.conf_path),
                          '-f'], capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    assert 'bogus_key' in res.stderr or 'bogus_key' in res.stdout


# ---- cert -----------------------------------------------------------------

def test_cert_creates_and_refuses_overwrite(ctl_env):
    """`cert HOST` writes certs/HOST.crt and .key; again without -f it
    refuses; with -f it replaces them with a new certificate."""
    res = ctl_env.ctl('cert', DOMAIN)
    crt = ctl_env.certs / (DOMAIN + '.crt')
    key = ctl_env.certs / (DOMAIN + '.key')
    assert crt.is_file() and key.is_file()
    assert str(crt) in res.stdout
    assert key.stat().st_mode & 0o077 == 0, 'the key must not be readable ' \
        'by others'
    der1 = ssl.PEM_cert_to_DER_cert(crt.read_text())
    res = ctl_env.ctl('cert', DOMAIN, check=False)
    assert res.returncode == 1
    assert ssl.PEM_cert_to_DER_cert(crt.read_text()) == der1
    ctl_env.ctl('cert', '-f', DOMAIN)
    der2 = ssl.PEM_cert_to_DER_cert(crt.read_text())
    assert der2 != der1


def test_cert_is_usable_for_tls(ctl_env, tmp_path):
    """The certificate and key pair load into a TLS context and name the
    host (RFC 6125: as a DNS subjectAltName)."""
    ctl_env.ctl('cert', DOMAIN)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ctl_env.certs / (DOMAIN + '.crt'),
                        ctl_env.certs / (DOMAIN + '.key'))
    try:
        from cryptography import x509
    except ImportError:
        pytest.skip('python3-cryptography missing')
    cert = x509.load_pem_x509_certificate(
        (ctl_env.certs / (DOMAIN + '.crt')).read_bytes())
    san = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert DOMAIN in san.get_values_for_type(x509.DNSName)


def test_cert_unknown_host_fails(ctl_env):
    res = ctl_env.ctl('cert', 'example.org', check=False)
    assert res.returncode == 1 and res.stderr.strip()
