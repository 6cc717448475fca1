"""A real Dovecot IMAP server for tests: own config, loopback port, plain-password logins.

Debian's `dovecot-imapd` provides the binary (`.ci/run` installs it). The server runs from a
temporary directory; as root, mail is stored as `nobody` (Dovecot refuses UID 0 for mail and
root for its login processes).
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from bot.mail.imap_wire import mailbox_name
from tests.support.ports import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_SERVER = "/usr/lib/dovecot/imap"  # the IMAP process the master starts, from dovecot-imapd


def missing() -> str | None:
    """Why Dovecot cannot serve IMAP here, or None: its core alone answers no IMAP login."""
    if not Path(DOVECOT).exists():
        return "dovecot not installed (apt-get install dovecot-imapd)"
    if not Path(IMAP_SERVER).exists():
        return f"dovecot has no IMAP server, {IMAP_SERVER} (apt-get install dovecot-imapd)"
    return None


PASSWORD = "p@ss:w/rd"  # characters a URL must escape


def make_certificate(folder: Path, address: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for localhost, 127.0.0.1 and `address` (tests trust it via
    SSL_CERT_FILE)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = ",".join(dict.fromkeys(["DNS:localhost", "IP:127.0.0.1", f"IP:{address}"]))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", f"subjectAltName={names}"],
        check=True,
        capture_output=True,
    )
    return cert, key


class Dovecot:
    """One Dovecot instance; `restart()` keeps its port and its mail."""

    def __init__(
        self,
        *,
        idle: bool = True,
        tls: bool = False,
        fetch_failure: str | None = None,
        address: str = "127.0.0.1",
        introspection_url: str | None = None,
        oauth_mechanisms: str = "xoauth2 oauthbearer",
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="handoff-dovecot-"))
        self.root.chmod(0o755)  # the mail user (nobody) must reach its home below
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.idle, self.tls = idle, tls
        self.address = address  # where it listens: loopback unless a test needs the wire
        # OAuth: tokens checked with the oauth2 passdb against this introspection endpoint
        # (RFC 7662, POSTed); the tests' own client still logs in with PASSWORD.
        self.introspection_url = introspection_url
        self.oauth_mechanisms = oauth_mechanisms
        # What Dovecot does when it cannot read a message: hang up (its default), or answer
        # NO after the rest ("no-after"), as Gmail does.
        self.fetch_failure = fetch_failure
        self.users: set[str] = set()
        self.cert: Path | None = None
        if tls:
            self.cert, self.key = make_certificate(self.root, address)
        for name in ("run", "state", "home"):
            (self.root / name).mkdir()
        self._write_config()

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def _write_config(self) -> None:
        root, as_root = self.root, os.geteuid() == 0
        introspection = self.introspection_url
        me = "nobody" if as_root else _user_name()
        group = "nogroup" if as_root else _group_name()
        lines = [
            f"base_dir = {root}/run",
            f"state_dir = {root}/state",
            f"log_path = {root}/dovecot.log",
            f"instance_name = handoff-test-{self.port}",
            "protocols = imap",
            f"listen = {self.address}",
            "disable_plaintext_auth = no",
            f"auth_mechanisms = plain login {self.oauth_mechanisms if introspection else ''}",
            f"default_internal_user = {'dovecot' if as_root else me}",
            f"default_internal_group = {'dovecot' if as_root else group}",
            f"default_login_user = {'dovenull' if as_root else me}",
            "first_valid_uid = 1",
            # Any user name logs in with PASSWORD: each test takes a fresh mailbox of its own.
            "passdb {",
            "  driver = static",
            f"  args = password={PASSWORD}",
            "  mechanisms = plain login",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={me} gid={group} home={root}/home/%u",
            "}",
            "mail_location = maildir:~/Maildir",
            "service imap-login {",
            "  chroot =",
            "  inet_listener imap {",
            f"    address = {self.address}",
            f"    port = {self.port}",
            "  }",
            "  inet_listener imaps {",
            f"    address = {self.address}",
            f"    port = {self.tls_port}",
            "    ssl = yes",
            "  }",
            "}",
            "service anvil {\n  chroot =\n}",
            "service stats {\n  chroot =\n}",
        ]
        if self.tls:
            lines += ["ssl = yes", f"ssl_cert = <{self.cert}", f"ssl_key = <{self.key}"]
        else:
            lines += ["ssl = no"]
        if introspection:
            oauth = root / "dovecot-oauth2.conf.ext"
            oauth.write_text(
                "introspection_mode = post\n"
                f"introspection_url = {introspection}\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
                "force_introspection = yes\n"
            )
            lines += [
                "passdb {",
                "  driver = oauth2",
                f"  mechanisms = {self.oauth_mechanisms}",
                f"  args = {oauth}",
                "}",
            ]
        if self.fetch_failure:
            lines.append(f"imap_fetch_failure = {self.fetch_failure}")
        if not self.idle:
            # Announce everything Dovecot does but IDLE, as a server without it would.
            lines.append("imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS MOVE")
        self.config.write_text("\n".join(lines) + "\n")

    def add_user(self, user: str) -> str:
        """A mailbox user's home (any name logs in: see passdb); returns the user's URL."""
        if user not in self.users:
            self.users.add(user)
            home = self.root / "home" / user
            home.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(home, "nobody", "nogroup")
        return self.url(user)

    def url(self, user: str, folder: str = "INBOX", *, scheme: str = "imap") -> str:
        port = self.tls_port if scheme == "imaps" else self.port
        host = "localhost" if self.tls and self.address == "127.0.0.1" else self.address
        return f"{scheme}://{quote(user)}:{quote(PASSWORD, safe='')}@{host}:{port}/{quote(folder)}"

    def start(self) -> None:
        # In the foreground (-F): the test owns the process, and nothing outlives the run.
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.address, self.port), 0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start: {self.log()}")

    def stop(self) -> None:
        """Shut down as an administrator would: the master takes its imap processes along."""
        process = getattr(self, "process", None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Dovecot leaves busy imap processes to finish their sessions; a restarted machine
        # does not, and that is the case to test: every connection breaks.
        subprocess.run(["pkill", "-KILL", "-f", f"dovecot-handoff-test-{self.port}/"], check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    # --- what a mail server's other clients do, through IMAP itself ---

    def client(self, user: str) -> imaplib.IMAP4:
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.cert))
            host = "localhost" if self.address == "127.0.0.1" else self.address
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, self.tls_port, ssl_context=context)
        else:
            imap = imaplib.IMAP4(self.address, self.port)
        imap.login(user, PASSWORD)
        return imap

    def append_now(
        self, user: str, raw: bytes, folder: str = "INBOX", when: datetime | None = None
    ) -> int:
        """APPEND a message; returns its UID (Dovecot answers with APPENDUID, RFC 4315)."""
        imap = self.client(user)
        try:
            date = imaplib.Time2Internaldate(when) if when else None
            status, data = imap.append(_quote(folder), None, date, raw)
            assert status == "OK", data
            text = data[0].decode() if data and data[0] else ""
            return int(text.split("APPENDUID", 1)[1].split()[1].rstrip("]"))
        finally:
            imap.logout()

    def append_all(self, user: str, raws: list[bytes], folder: str = "INBOX") -> None:
        """APPEND many messages over one connection (a backlog, quickly)."""
        imap = self.client(user)
        try:
            for raw in raws:
                status, data = imap.append(_quote(folder), None, None, raw)
                assert status == "OK", data
        finally:
            imap.logout()

    async def append(
        self, user: str, raw: bytes, folder: str = "INBOX", when: datetime | None = None
    ) -> int:
        return await asyncio.to_thread(self.append_now, user, raw, folder, when)

    def create_folder(self, user: str, folder: str) -> None:
        self._folder_command(user, "create", folder)

    def delete_folder(self, user: str, folder: str) -> None:
        self._folder_command(user, "delete", folder)

    def _folder_command(self, user: str, command: str, folder: str) -> None:
        imap = self.client(user)
        try:
            status, data = getattr(imap, command)(_quote(folder))
            assert status == "OK", data
        finally:
            imap.logout()

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        imap = self.client(user)
        try:
            imap.select(_quote(folder), readonly=True)
            status, data = imap.uid("SEARCH", "ALL")
            assert status == "OK", data
            return [int(n) for n in data[0].split()]
        finally:
            imap.logout()

    def flags(self, user: str, uid: int, folder: str = "INBOX") -> str:
        imap = self.client(user)
        try:
            imap.select(_quote(folder), readonly=True)
            status, data = imap.uid("FETCH", str(uid), "(FLAGS)")
            assert status == "OK", data
            return data[0].decode() if data and data[0] else ""
        finally:
            imap.logout()

    def readable(self, user: str, marker: bytes, readable: bool, folder: str = "INBOX") -> None:
        """Make the stored file of the message holding `marker` one Dovecot cannot read (as a
        corrupt disk or a bad restore would), or repair it."""
        maildir = self.root / "home" / user / "Maildir"
        if folder != "INBOX":
            maildir = maildir / f".{folder}"
        files = [p for d in ("cur", "new") for p in (maildir / d).iterdir() if p.is_file()]
        [path] = [p for p in files if marker in p.read_bytes()]
        path.chmod(0o600 if readable else 0)

    def logins(self, user: str) -> int:
        """How many times `user` logged in so far, from the server's log."""
        return self.log().count(f"Login: user=<{user}>")


def _quote(folder: str) -> str:
    return mailbox_name(folder)  # quoted, in modified UTF-7; Dovecot refuses a wrong encoding


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _group_name() -> str:
    import grp

    return grp.getgrgid(os.getegid()).gr_name
