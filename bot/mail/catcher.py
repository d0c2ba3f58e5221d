"""A mail catcher: an SMTP server (aiosmtpd) that accepts every mail and writes it to a Maildir.

``make run`` starts it (bot/launcher.py) so the demo's mails can be read in
``var/mail/new/`` instead of leaving the machine; the tests' SMTP server builds on it with a
certificate of its own (STARTTLS required) and a login::

    python -m bot.mail.catcher --port 8025 --maildir var/mail
    python -m bot.mail.catcher --port 8587 --maildir /tmp/box --cert c.pem --key k.pem --auth-file a

A mail is stored when its DATA is complete and just before the server says 250: a client that
goes away before that leaves nothing behind (aiosmtpd cancels the handler). The envelope's
recipients are added as ``Delivered-To`` lines on top, as a local delivery agent would.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class MaildirHandler:
    """aiosmtpd handler: each accepted mail becomes one file in ``maildir/new``."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = Path(maildir)
        self.box = mailbox.Maildir(str(self.maildir), create=True)

    async def accept(self, server: SMTP, session: Session, envelope: Envelope) -> None:
        """Called before a mail is stored; the tests' server waits here on command."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self.accept(server, session, envelope)
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        top = b"".join(b"Delivered-To: " + r.encode("utf-8") + b"\r\n" for r in envelope.rcpt_tos)
        self.box.add(top + content)
        return "250 Message accepted for delivery"


class PasswordCheck:
    """aiosmtpd authenticator for one login and password."""

    def __init__(self, login: str, password: str) -> None:
        self.login = login.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == self.login and data.password == self.password
        return AuthResult(success=ok, handled=False)


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


async def serve(
    handler: MaildirHandler,
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    auth: PasswordCheck | None = None,
) -> asyncio.Server:
    """Listen on ``host:port``. With ``tls``: STARTTLS required (or TLS from the first byte with
    ``implicit_tls``); with ``auth``: a login required (over TLS only)."""
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(
            handler,
            hostname="kw-catcher.localhost",
            enable_SMTPUTF8=True,
            tls_context=None if implicit_tls else tls,
            require_starttls=tls is not None and not implicit_tls,
            authenticator=auth,
            auth_required=auth is not None,
            # Over implicit TLS the whole connection is encrypted before the first command.
            auth_require_tls=tls is not None and not implicit_tls,
            timeout=60,
        )

    return await loop.create_server(protocol, host, port, ssl=tls if implicit_tls else None)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.mail.catcher", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--cert", type=Path, help="PEM certificate: STARTTLS required")
    parser.add_argument("--key", type=Path, help="PEM private key of --cert")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (port 465 style)")
    parser.add_argument("--auth-file", type=Path, help="a file with login:password; a login is then required")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace, handler: MaildirHandler | None = None) -> None:
    handler = handler or MaildirHandler(args.maildir)
    tls = server_tls(args.cert, args.key) if args.cert and args.key else None
    auth = None
    if args.auth_file:
        login, _, password = args.auth_file.read_text(encoding="utf-8").strip().partition(":")
        auth = PasswordCheck(login, password)
    server = await serve(handler, args.host, args.port, tls=tls, implicit_tls=args.implicit_tls, auth=auth)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"Mailcatcher luistert op {args.host}:{args.port}; mails in {handler.maildir / 'new'}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(main_async(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
