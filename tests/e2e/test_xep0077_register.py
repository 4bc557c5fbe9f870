"""XEP-0077 In-Band Registration: new accounts before authentication (off
by default, a password policy, a limit per address), password changes and
account removal by logged-in users, and the stream and disco features."""

import time
from xml.sax.saxutils import escape

import pytest

from magpie import DOMAIN, USERS
from rawxmpp import NS_CLIENT, NS_SASL, NS_STREAM, error_condition, q, \
    text_of

NS_REGISTER = 'jabber:iq:register'
NS_FEATURE = 'http://jabber.org/features/iq-register'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
QUERY = q(NS_REGISTER, 'query')
MODULES = ['disco', 'ping', 'register']


def open_server(server_factory, **register):
    """A server with the register module; registration on unless told."""
    conf = {'allow_registration': True, 'per_ip_limit': 100}
    conf.update(register)
    return server_factory({'register': conf}, modules=MODULES)


def preauth(raw, srv):
    """A client over TLS, not authenticated: the place to register."""
    c = raw(server=srv)
    c.open_stream()
    c.starttls()
    return c


def reg_body(user=None, password=None, extra=''):
    parts = []
    if user is not None:
        parts.append('<username>%s</username>' % escape(user))
    if password is not None:
        parts.append('<password>%s</password>' % escape(password))
    return "<query xmlns='%s'>%s%s</query>" % (NS_REGISTER, ''.join(parts),
                                               extra)


def register(c, user, password, **kw):
    return c.iq(reg_body(user, password), 'set', **kw)


def assert_error(res, condition, type_=None):
    assert res.get('type') == 'error', text_of(res)
    assert error_condition(res) == condition, text_of(res)
    if type_ is not None:
        assert res.find(q(NS_CLIENT, 'error')).get('type') == type_, \
            text_of(res)


def assert_result(res):
    assert res.get('type') == 'result', text_of(res)


def can_login(raw, srv, user, password):
    """True if SCRAM-SHA-256 with these credentials succeeds."""
    c = raw(server=srv)
    c.open_stream()
    c.starttls()
    res = c.auth_scram('SCRAM-SHA-256', user, password, verify=False)
    if res.tag == q(NS_SASL, 'success'):
        return True
    assert res.tag == q(NS_SASL, 'failure'), text_of(res)
    return False


def accounts(srv):
    return srv.ctl('user', 'list').stdout.split()


def bare(user):
    return '%s@%s' % (user, DOMAIN)


# ---- registration off ---------------------------------------------------

def test_registration_off_by_default(server_factory, raw):
    """XEP-0077 8 and 3.1: without register.allow_registration no stream
    feature is offered and a registration request gets
    <service-unavailable/>; no account is created."""
    srv = server_factory(modules=MODULES)
    c = preauth(raw, srv)
    assert c.feature(NS_FEATURE, 'register') is None, text_of(c.features)
    assert_error(c.iq(reg_body(), 'get'), 'service-unavailable', 'cancel')
    assert_error(register(c, 'mallory', 'mallory-Secret-9'),
                 'service-unavailable', 'cancel')
    assert bare('mallory') not in accounts(srv)
    assert not can_login(raw, srv, 'mallory', 'mallory-Secret-9')


# ---- registration on ----------------------------------------------------

def test_feature_only_after_tls_and_before_auth(server_factory, raw):
    """XEP-0077 8: the stream feature is offered over TLS (required here)
    and before authentication only; never after SASL."""
    srv = open_server(server_factory)
    c = raw(server=srv)
    c.open_stream()
    assert c.feature(NS_FEATURE, 'register') is None, text_of(c.features)
    c.starttls()
    assert c.feature(NS_FEATURE, 'register') is not None, text_of(c.features)
    c.authenticate('alice', USERS['alice'])
    assert c.feature(NS_FEATURE, 'register') is None, text_of(c.features)


def test_no_registration_before_tls(server_factory, raw):
    """XEP-0077 10 and RFC 6120 6.4.1: with TLS required, a registration
    request in the clear ends the stream with <not-authorized/>."""
    srv = open_server(server_factory)
    c = raw(server=srv)
    c.open_stream()
    c.send("<iq type='set' id='r1'>%s</iq>" %
           reg_body('eve', 'eve-Secret-99'))
    c.expect_stream_error('not-authorized')
    assert bare('eve') not in accounts(srv)


def test_registration_form(server_factory, raw):
    """XEP-0077 3.1: the form lists <instructions/>, <username/> and
    <password/> and no <registered/>."""
    srv = open_server(server_factory)
    c = preauth(raw, srv)
    res = c.iq(reg_body(), 'get')
    assert_result(res)
    query = res.find(QUERY)
    assert query is not None, text_of(res)
    for name in ('instructions', 'username', 'password'):
        assert query.find(q(NS_REGISTER, name)) is not None, text_of(res)
    assert query.find(q(NS_REGISTER, 'registered')) is None, text_of(res)
    assert query.find(q(NS_REGISTER, 'instructions')).text


def test_register_then_login(server_factory, raw):
    """XEP-0077 3.1 and 3.1.1: a new account is created, the same stream
    then authenticates with it (SCRAM), and so does a new connection;
    magpiectl lists it."""
    srv = open_server(server_factory)
    c = preauth(raw, srv)
    assert_result(register(c, 'dave', 'dave-Secret-4'))
    assert bare('dave') in accounts(srv)
    c.authenticate('dave', 'dave-Secret-4')
    assert c.bind('here') == bare('dave') + '/here'
    assert can_login(raw, srv, 'dave', 'dave-Secret-4')
    assert not can_login(raw, srv, 'dave', 'wrong-Secret-4')


def test_register_prepares_username(server_factory, raw):
    """XEP-0077 3.1 with RFC 7622 3.3: the username is prepared
    (UsernameCaseMapped), so 'Erin' registers the account erin."""
    srv = open_server(server_factory)
    c = preauth(raw, srv)
    assert_result(register(c, 'Erin', 'erin-Secret-5'))
    assert bare('erin') in accounts(srv)
    assert can_login(raw, srv, 'erin', 'erin-Secret-5')


def test_duplicate_conflict(server_factory, raw):
    """XEP-0077 3.1: a username in use gets <conflict/> (cancel), also in
    another case; the existing password keeps working and the stream can
    still register another name."""
    srv = open_server(server_factory)
    c = preauth(raw, srv)
    assert_error(register(c, 'alice', 'other-Secret-1'), 'conflict',
                 'cancel')
    assert_error(register(c, 'ALICE', 'other-Secret-1'), 'conflict',
                 'cancel')
    assert can_login(raw, srv, 'alice', USERS['alice'])
    assert not can_login(raw, srv, 'alice', 'other-Secret-1')
    assert_result(register(c, 'frank', 'frank-Secret-6'))


@pytest.mark.parametrize('user,password', [
    (None, 'good-Secret-1'),
    ('gina', None),
    ('', 'good-Secret-1'),
    ('gina', ''),
    (None, None),
])
def test_missing_fields_not_acceptable(server_factory, raw, user, password):
    """XEP-0077 3.1: a request without a username or a password (or with an
    empty one) gets <not-acceptable/> (modify) and creates nothing."""
    srv = open_server(server_factory)
    c = preauth(raw, srv)
    assert_error(register(c, user, password), 'not-acceptable', 'modify')
    assert accounts(srv) == sorted(bare(u) for u in USERS)


def test_password_policy(server_factory, raw):
    """XEP-0077 3.1: a password shorter than register.min_password
    characters (not bytes) gets <not-acceptable/>; the reply does not echo
    the password (XEP-0077 3.3)."""
    srv = open_server(server_factory, min_password=8)
    c = preauth(raw, srv)
    assert_error(register(c, 'hank', 'Sh0rt!x'), 'not-acceptable', 'modify')
    # Seven characters, fourteen bytes: still too short.
    assert_error(register(c, 'hank', '\u00e9' * 7), 'not-acceptable',
                 'modify')
    assert b'Sh0rt!x' not in bytes(c.received)
    assert bare('hank') not in accounts(srv)
    assert_result(register(c, 'hank', '\u00e9' * 8))
    assert can_login(raw, srv, 'hank', '\u00e9' * 8)


@pytest.mark.parametrize('user', ['bad@name', 'a b', 'x/y', 'x' * 1100])
def test_invalid_username(server_factory, raw, user):
    """XEP-0077 3.1 and RFC 7622 3.3: a username that is no valid localpart
    is refused with <not-acceptable/>; the stream stays open."""
    srv = open_server(server_factory)
    c = preauth(raw, srv)
    assert_error(register(c, user, 'good-Secret-1'), 'not-acceptable',
                 'modify')
    assert accounts(srv) == sorted(bare(u) for u in USERS)
    assert_result(c.iq(reg_body(), 'get'))


def test_preauth_remove_refused(server_factory, raw):
    """XEP-0077 3.2: an unauthenticated stream has no account to cancel;
    <remove/> gets <not-allowed/> and nothing is removed."""
    srv = open_server(server_factory)
    c = preauth(raw, srv)
    res = c.iq("<query xmlns='%s'><username>alice</username><remove/>"
               "</query>" % NS_REGISTER, 'set')
    assert_error(res, 'not-allowed')
    assert bare('alice') in accounts(srv)


def test_per_ip_limit(server_factory, raw):
    """XEP-0077 3.1.1 and 11: at most register.per_ip_limit accounts per
    address within register.window seconds; the next gets
    <policy-violation/> (wait); refused attempts do not count; the limit
    lifts once the window has passed."""
    srv = open_server(server_factory, per_ip_limit=2, window=3)
    c = preauth(raw, srv)
    assert_error(register(c, 'alice', 'ivan-Secret-7'), 'conflict')
    assert_result(register(c, 'ivan', 'ivan-Secret-7'))
    c2 = preauth(raw, srv)
    assert_result(register(c2, 'judy', 'judy-Secret-8'))
    c3 = preauth(raw, srv)
    assert_error(register(c3, 'ken', 'ken-Secret-99'), 'policy-violation',
                 'wait')
    assert bare('ken') not in accounts(srv)
    time.sleep(4.2)
    assert_result(register(c3, 'ken', 'ken-Secret-99'))
    assert can_login(raw, srv, 'ken', 'ken-Secret-99')


def test_slixmpp_registers_and_logs_in(server_factory, slix_for):
    """XEP-0077 3.1 with an independent client: slixmpp's xep_0077 sees the
    stream feature, registers, then logs in with the new account."""
    srv = open_server(server_factory)
    slix = slix_for(srv)

    async def body():
        c = slix.new_client('leo', 'leo-Secret-10', plugins=('xep_0077',))
        done = []

        async def on_register(form):
            iq = c.Iq()
            iq['type'] = 'set'
            iq['register']['username'] = c.boundjid.user
            iq['register']['password'] = c.password
            await iq.send(timeout=5)
            done.append(True)
        c.add_event_handler('register', on_register)
        # slixmpp 1.8 holds back every stanza but bind until the session
        # starts, registration included; let it send them.
        c._always_send_everything = True
        await slix.login(c)
        assert done == [True]
        assert str(c.boundjid.bare) == bare('leo')
    slix.run(body())
    assert bare('leo') in accounts(srv)


# ---- logged-in users ----------------------------------------------------

def test_registered_info(server_factory, raw):
    """XEP-0077 3.1: a logged-in user asking gets <registered/> and its
    username, with or without 'to' set to the server."""
    srv = open_server(server_factory)
    c = raw.logged_in('alice', server=srv)
    for to in (None, DOMAIN):
        res = c.iq(reg_body(), 'get', to=to)
        assert_result(res)
        query = res.find(QUERY)
        assert query.find(q(NS_REGISTER, 'registered')) is not None, \
            text_of(res)
        assert query.findtext(q(NS_REGISTER, 'username')) == 'alice'


def test_password_change(server_factory, raw):
    """XEP-0077 3.3: a logged-in user changes its password; the next login
    works with the new one and fails with the old one."""
    srv = server_factory(modules=MODULES)
    c = raw.logged_in('alice', server=srv)
    assert_result(register(c, 'alice', 'alice-New-Secret'))
    assert can_login(raw, srv, 'alice', 'alice-New-Secret')
    assert not can_login(raw, srv, 'alice', USERS['alice'])
    # Addressed to the server, as in the XEP's example.
    assert_result(register(c, 'alice', 'alice-Newer-Secret', to=DOMAIN))
    assert can_login(raw, srv, 'alice', 'alice-Newer-Secret')


def test_password_change_refusals(server_factory, raw):
    """XEP-0077 3.3: another user's name gets <bad-request/> and changes
    nothing; an empty or absent password keeps the old one
    (<bad-request/>); a short one gets <not-acceptable/>."""
    srv = server_factory(modules=MODULES)
    c = raw.logged_in('alice', server=srv)
    assert_error(register(c, 'bob', 'bob-Stolen-Secret'), 'bad-request')
    assert_error(register(c, None, 'alice-New-Secret'), 'bad-request')
    assert_error(register(c, 'alice', ''), 'bad-request')
    assert_error(register(c, 'alice', None), 'bad-request')
    assert_error(register(c, 'alice', 'short'), 'not-acceptable')
    assert b'bob-Stolen-Secret' not in bytes(c.received)
    assert can_login(raw, srv, 'bob', USERS['bob'])
    assert can_login(raw, srv, 'alice', USERS['alice'])


def test_slixmpp_change_password(server_factory, slix_for, raw):
    """XEP-0077 3.3 with slixmpp's change_password()."""
    srv = server_factory(modules=MODULES)
    slix = slix_for(srv)

    async def body():
        c = await slix.client('bob', plugins=('xep_0077',))
        await c['xep_0077'].change_password('bob-Changed-Secret',
                                            timeout=5)
    slix.run(body())
    assert can_login(raw, srv, 'bob', 'bob-Changed-Secret')
    assert not can_login(raw, srv, 'bob', USERS['bob'])


def test_account_removal(server_factory, raw):
    """XEP-0077 3.2: <remove/> is answered with a result first, then every
    session of the account ends with <not-authorized/>; the account is
    gone (login fails, magpiectl no longer lists it)."""
    srv = server_factory(modules=MODULES)
    c = raw.logged_in('carol', resource='one', server=srv)
    other = raw.logged_in('carol', resource='two', server=srv)
    c.send("<iq type='set' id='unreg1'><query xmlns='%s'><remove/></query>"
           "</iq>" % NS_REGISTER)
    res = c.next_element()
    assert res.tag == q(NS_CLIENT, 'iq') and res.get('id') == 'unreg1', \
        text_of(res)
    assert_result(res)
    c.expect_stream_error('not-authorized')
    other.expect_stream_error('not-authorized')
    assert bare('carol') not in accounts(srv)
    assert not can_login(raw, srv, 'carol', USERS['carol'])
    assert bare('alice') in accounts(srv)


def test_removal_of_another_user_impossible(server_factory, raw):
    """XEP-0077 3.2: a request addressed to another user's JID gets
    <forbidden/>; <remove/> with other children gets <bad-request/>;
    both accounts stay."""
    srv = server_factory(modules=MODULES)
    c = raw.logged_in('alice', server=srv)
    res = c.iq("<query xmlns='%s'><remove/></query>" % NS_REGISTER, 'set',
               to=bare('bob'))
    assert_error(res, 'forbidden')
    res = c.iq("<query xmlns='%s'><username>bob</username><remove/>"
               "</query>" % NS_REGISTER, 'set')
    assert_error(res, 'bad-request')
    assert_error(c.iq(reg_body(), 'get', to=bare('bob')), 'forbidden')
    assert bare('bob') in accounts(srv)
    assert bare('alice') in accounts(srv)
    assert can_login(raw, srv, 'bob', USERS['bob'])
    # alice's stream is still up.
    assert_result(c.iq(reg_body(), 'get'))


def test_changes_disabled(server_factory, raw):
    """XEP-0077 3.2 and 3.3: with password changes and removal disabled,
    both get <not-allowed/> (cancel) and nothing changes."""
    srv = open_server(server_factory, allow_registration=False,
                      allow_password_change=False, allow_removal=False)
    c = raw.logged_in('alice', server=srv)
    assert_error(register(c, 'alice', 'alice-New-Secret'), 'not-allowed',
                 'cancel')
    res = c.iq("<query xmlns='%s'><remove/></query>" % NS_REGISTER, 'set')
    assert_error(res, 'not-allowed', 'cancel')
    assert bare('alice') in accounts(srv)
    assert can_login(raw, srv, 'alice', USERS['alice'])


# ---- discovery ----------------------------------------------------------

def disco_features(c):
    res = c.iq("<query xmlns='%s'/>" % NS_DISCO_INFO, 'get', to=DOMAIN)
    assert_result(res)
    return {f.get('var') for f in
            res.find(q(NS_DISCO_INFO, 'query')).findall(
                q(NS_DISCO_INFO, 'feature'))}


def test_disco_feature(server_factory, raw):
    """XEP-0077 9: the server's disco#info lists jabber:iq:register while
    anything of it is enabled (password changes are by default), and not
    when all of it is off."""
    srv = open_server(server_factory)
    assert NS_REGISTER in disco_features(raw.logged_in('alice', server=srv))
    off = open_server(server_factory, allow_registration=False,
                      allow_password_change=False, allow_removal=False)
    assert NS_REGISTER not in disco_features(
        raw.logged_in('alice', server=off))


def test_feature_absent_without_module(server_factory, raw):
    """XEP-0077 8: without the module there is no stream feature and a
    registration attempt ends the stream (RFC 6120 6.4.1)."""
    srv = server_factory(modules=['disco'])
    c = preauth(raw, srv)
    assert c.feature(NS_FEATURE, 'register') is None
    c.send("<iq type='get' id='r1'>%s</iq>" % reg_body())
    c.expect_stream_error('not-authorized')
    assert c.features.tag == q(NS_STREAM, 'features')
