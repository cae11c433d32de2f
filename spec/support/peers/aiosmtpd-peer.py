#!/usr/bin/python3
"""aiosmtpd test peer for smtpkit's integration specs (run with Debian's /usr/bin/python3).

Listens on 127.0.0.1 with ports chosen by the kernel (port 0) and prints exactly one line
on stdout once every listener is up:

    READY {"port": 40001, "smtpsPort": 40002, "plainAuthPort": 40003, "pid": 1234}

(smtpsPort / plainAuthPort only when asked for). Listeners:

  port           plain SMTP offering STARTTLS (--cert/--key); AUTH PLAIN/LOGIN is advertised
                 and accepted only after STARTTLS (538 before it); MAIL needs AUTH unless
                 --no-auth-required; with --require-tls every command but
                 EHLO/HELO/NOOP/RSET/QUIT/STARTTLS is refused with 530 before STARTTLS.
  smtpsPort      (--smtps) implicit TLS (SMTPS); AUTH PLAIN/LOGIN allowed at once.
  plainAuthPort  (--auth-without-tls) plain SMTP, no STARTTLS, AUTH PLAIN/LOGIN allowed in clear.

Every accepted message is saved in --save-dir as NNNNNN.eml (the raw DATA bytes, dot-stuffing
removed) plus NNNNNN.json (envelope and session facts), the .json written last and atomically,
both before the 250 reply to DATA is sent.

Exits 0 on SIGTERM / SIGINT, and (with --exit-on-stdin-eof) when stdin reaches EOF, so the
peer never outlives a parent that died.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--cert", required=True, help="server certificate (PEM)")
    p.add_argument("--key", required=True, help="server private key (PEM)")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--save-dir", required=True)
    p.add_argument("--hostname", default="localhost", help="name in the greeting / EHLO reply")
    p.add_argument("--require-tls", action="store_true",
                   help="on the main port, refuse commands other than EHLO/HELO/NOOP/RSET/QUIT/STARTTLS before STARTTLS")
    p.add_argument("--no-auth-required", action="store_true", help="accept MAIL without AUTH")
    p.add_argument("--smtps", action="store_true", help="also listen with implicit TLS")
    p.add_argument("--auth-without-tls", action="store_true", help="also listen in clear text with AUTH allowed")
    p.add_argument("--no-8bitmime", action="store_true", help="leave 8BITMIME out of the EHLO reply")
    p.add_argument("--exit-on-stdin-eof", action="store_true")
    p.add_argument("--verbose", action="store_true", help="aiosmtpd debug log on stderr")
    return p.parse_args()


class SavingHandler:
    """Saves every message in save_dir; numbering is shared by all listeners."""

    def __init__(self, save_dir: str, listener: str, counter: list, no_8bitmime: bool = False) -> None:
        self.save_dir = save_dir
        self.listener = listener
        self.counter = counter
        self.no_8bitmime = no_8bitmime

    async def handle_EHLO(self, server: SMTP, session, envelope, hostname, responses):
        # The EHLO hook with `responses` (aiosmtpd >= 1.3) may edit the keyword lines.
        session.host_name = hostname
        if self.no_8bitmime:
            responses = [r for r in responses if r[4:].upper() != "8BITMIME"]
        return responses

    async def handle_DATA(self, server: SMTP, session, envelope) -> str:
        self.counter[0] += 1
        stem = os.path.join(self.save_dir, "%06d" % self.counter[0])
        data = envelope.original_content
        if data is None:
            data = envelope.content if isinstance(envelope.content, bytes) else (envelope.content or "").encode()
        with open(stem + ".eml", "wb") as f:
            f.write(data)
        login = getattr(session.auth_data, "login", None)
        meta = {
            "listener": self.listener,
            "mailFrom": envelope.mail_from,
            "mailOptions": list(envelope.mail_options or []),
            "rcptTos": list(envelope.rcpt_tos),
            "rcptOptions": list(envelope.rcpt_options or []),
            "smtpUtf8": bool(envelope.smtp_utf8),
            "heloName": session.host_name,
            "tls": session.ssl is not None or self.listener == "smtps",
            "authenticated": bool(session.authenticated),
            "authLogin": login.decode("utf-8", "replace") if isinstance(login, bytes) else login,
            "size": len(data),
        }
        with open(stem + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.replace(stem + ".json.tmp", stem + ".json")
        return "250 2.0.0 OK message %06d saved" % self.counter[0]


def make_authenticator(user: str, password: str):
    want_user = user.encode("utf-8")
    want_password = password.encode("utf-8")

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == want_user and auth_data.password == want_password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticator


async def main() -> int:
    args = parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    else:
        logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    os.makedirs(args.save_dir, exist_ok=True)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE

    loop = asyncio.get_running_loop()
    authenticator = make_authenticator(args.user, args.password)
    auth_required = not args.no_auth_required
    counter = [0]

    def factory(listener: str, **kw):
        handler = SavingHandler(args.save_dir, listener, counter, args.no_8bitmime)

        def make() -> SMTP:
            return SMTP(
                handler,
                hostname=args.hostname,
                ident="smtpkit aiosmtpd test peer",
                enable_SMTPUTF8=True,
                authenticator=authenticator,
                auth_required=auth_required,
                timeout=60,
                **kw,
            )

        return make

    servers = []
    ports = {}

    # Main port: STARTTLS offered; AUTH only after it.
    main_server = await loop.create_server(
        factory("starttls", tls_context=tls, require_starttls=args.require_tls, auth_require_tls=True),
        host=args.host, port=0)
    servers.append(main_server)
    ports["port"] = main_server.sockets[0].getsockname()[1]

    if args.smtps:
        # Implicit TLS: the transport is already encrypted, so aiosmtpd must not demand STARTTLS
        # (its auth_require_tls only knows about STARTTLS).
        smtps_server = await loop.create_server(
            factory("smtps", auth_require_tls=False), host=args.host, port=0, ssl=tls)
        servers.append(smtps_server)
        ports["smtpsPort"] = smtps_server.sockets[0].getsockname()[1]

    if args.auth_without_tls:
        import warnings
        warnings.simplefilter("ignore")  # "Requiring AUTH while not requiring TLS ..."
        plain_server = await loop.create_server(
            factory("plain-auth", auth_require_tls=False), host=args.host, port=0)
        servers.append(plain_server)
        ports["plainAuthPort"] = plain_server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.exit_on_stdin_eof:
        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except Exception:
                pass
            loop.call_soon_threadsafe(stop.set)
        threading.Thread(target=watch_stdin, daemon=True).start()

    ports["pid"] = os.getpid()
    sys.stdout.write("READY " + json.dumps(ports) + "\n")
    sys.stdout.flush()

    await stop.wait()
    for s in servers:
        s.close()
    for s in servers:
        try:
            await asyncio.wait_for(s.wait_closed(), 0.5)
        except (asyncio.TimeoutError, Exception):
            pass
    return 0


if __name__ == "__main__":
    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        code = 0
    sys.stdout.flush()
    os._exit(code)
