"""Runs a real magpied for the tests: writes its config with free loopback
ports into a temporary folder, adds users with magpiectl, starts it and stops
it with SIGTERM, keeping its log for failure messages."""

import copy
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILDDIR = Path(os.environ.get('MAGPIE_BUILDDIR') or HERE.parent.parent)
MAGPIED = BUILDDIR / 'magpied'
MAGPIECTL = BUILDDIR / 'magpiectl'
MODULE_PATH = BUILDDIR / 'modules' / '.libs'

USERS = {
    'alice': 'alice-Secret-1',
    'bob': 'bob-Secret-2',
    'carol': 'carol-Secret-3',
}
DOMAIN = 'localhost'
HOST = '127.0.0.1'


VALGRIND = os.environ.get('MAGPIE_VALGRIND') == '1'


def binaries_present():
    return MAGPIED.is_file() and MAGPIECTL.is_file()


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _render(value, indent=''):
    """Python value -> libconfig syntax."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')
    if isinstance(value, dict):
        inner = ' '.join('%s = %s;' % (k, _render(v)) for k, v in
                         value.items())
        return '{ %s }' % inner
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, dict) for v in value) and value:
            return '(\n  %s\n)' % ',\n  '.join(_render(v) for v in value)
        return '[ %s ]' % ', '.join(_render(v) for v in value)
    raise TypeError(value)


def render_config(conf):
    return ''.join('%s = %s;\n' % (k, _render(v)) for k, v in conf.items())


def _merge(base, over):
    for k, v in over.items():
        if v is None:
            base.pop(k, None)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v
    return base


class MagpieServer:
    """One magpied with its own folder, ports, users and log."""

    def __init__(self, tmpdir, overrides=None, modules=None):
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.certs = self.dir / 'certs'
        self.data = self.dir / 'data'
        self.certs.mkdir(exist_ok=True)
        self.data.mkdir(exist_ok=True)
        self.wrapper = []   # a command to run magpied under (prlimit...)
        self.c2s_port = free_port()
        self.tls_port = free_port()
        while self.tls_port == self.c2s_port:
            self.tls_port = free_port()
        self.config = {
            'listen': [
                {'type': 'c2s', 'address': HOST, 'port': self.c2s_port},
                {'type': 'c2s-direct-tls', 'address': HOST,
                 'port': self.tls_port},
            ],
            'hosts': [{'domain': DOMAIN}],
            'modules': list(modules if modules is not None else
                            ['disco', 'ping', 'version', 'time']),
            'module_path': str(MODULE_PATH),
            'tls': {'certs': str(self.certs), 'required': True,
                    'self_signed': True},
            'storage': {'path': str(self.data)},
            'auth': {'iterations': 4096, 'allow_plain': True,
                     'max_failures': 3},
            'c2s': {'preauth_timeout': 30, 'idle_timeout': 300,
                    'ping_timeout': 30, 'max_stanza_size': 262144,
                    'max_stanza_size_preauth': 10240, 'max_depth': 64},
            # The suite connects often from one address and sends bursts:
            # limits are off here; test_limits.py turns each one on.
            'limits': {'max_connections_per_ip': 0,
                       'max_new_connections_per_ip': 0, 'read_rate': 0,
                       'max_send_queue': 0, 'max_sessions_per_user': 0,
                       'max_auth_failures_per_ip': 0},
            'log': {'level': 'debug'},
        }
        if overrides:
            _merge(self.config, copy.deepcopy(overrides))
        self.conf_path = self.dir / 'magpie.conf'
        self.log_path = self.dir / 'magpied.log'
        self.proc = None
        self.returncode = None
        self._log = None
        self.write_config()

    def write_config(self):
        self.conf_path.write_text(render_config(self.config))

    @property
    def cert_path(self):
        return self.certs / (DOMAIN + '.crt')

    # ---- magpiectl -----------------------------------------------------

    def ctl(self, *args, check=True, timeout=60, config=None):
        cmd = [str(MAGPIECTL), '-c', str(config or self.conf_path)] + \
            [str(a) for a in args]
        res = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError('%s exited %d\nstdout: %s\nstderr: %s' %
                                 (' '.join(cmd), res.returncode, res.stdout,
                                  res.stderr))
        return res

    def add_users(self, users=USERS):
        for user, password in users.items():
            self.ctl('user', 'add', '%s@%s' % (user, DOMAIN), password)

    # ---- process -------------------------------------------------------

    def start(self, timeout=10.0):
        self._log = open(self.log_path, 'ab')
        cmd = self.wrapper + [str(MAGPIED), '-c', str(self.conf_path), '-f',
                              '-d']
        if VALGRIND:
            # MAGPIE_VALGRIND=1: memcheck; its findings end up in the log
            # and fail the teardown like a sanitizer report.
            cmd = ['valgrind', '--quiet', '--leak-check=full',
                   '--errors-for-leak-kinds=definite',
                   '--show-leak-kinds=definite', '--num-callers=30'] + cmd
            timeout *= 10
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        waiting = {self.c2s_port, self.tls_port}
        while waiting:
            if self.proc.poll() is not None:
                raise AssertionError('magpied exited with %d during start-up;'
                                     ' log tail:\n%s' % (self.proc.returncode,
                                                         self.log_tail()))
            for port in list(waiting):
                try:
                    with socket.create_connection((HOST, port), timeout=0.5):
                        waiting.discard(port)
                except OSError:
                    pass
            if waiting:
                if time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError('magpied did not listen on %s within '
                                         '%.0fs; log tail:\n%s' %
                                         (sorted(waiting), timeout,
                                          self.log_tail()))
                time.sleep(0.05)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit code (kills it on timeout)."""
        if VALGRIND:
            timeout *= 3
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.returncode = 'did not exit within %.0fs of SIGTERM' % \
                    timeout
                self._close_log()
                return self.returncode
        self.returncode = self.proc.returncode
        self._close_log()
        return self.returncode

    def wait(self, timeout=10.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._close_log()

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self):
        try:
            return self.log_path.read_text(errors='replace')
        except OSError:
            return ''

    def log_tail(self, lines=40):
        return '\n'.join(self.log_text().splitlines()[-lines:])

    def sanitizer_reports(self):
        """Lines where an -fsanitize build complained (UBSan goes on
        running after a report, so the exit code alone would miss it)."""
        marks = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer',
                 'runtime error:', 'SUMMARY: UndefinedBehaviorSanitizer',
                 'definitely lost in', 'Invalid read', 'Invalid write',
                 'Invalid free', 'uninitialised value',
                 'Conditional jump or move depends')
        return [ln for ln in self.log_text().splitlines()
                if any(m in ln for m in marks)]

    def check_stopped_cleanly(self):
        rc = self.stop()
        reports = self.sanitizer_reports()
        if rc != 0:
            raise AssertionError('magpied did not exit 0 on SIGTERM (%r)%s; '
                                 'log tail:\n%s' %
                                 (rc, ' with sanitizer reports' if reports
                                  else '', self.log_tail(60)))
        if reports:
            raise AssertionError('sanitizer reports in %s:\n%s' %
                                 (self.log_path, '\n'.join(reports[:20])))
