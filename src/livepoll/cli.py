"""The ``livepoll`` command: check decks, run a session, serve, present, export."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from livepoll import __version__
from livepoll.deck import Deck, DeckError, from_file
from livepoll.files import make_private_directory, write_private
from livepoll.presenter_token import ORGANISER_TOKEN_ENV, TOKEN_ENV, TokenError, chosen_token

DEFAULT_DATABASE = "livepoll.db"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        result: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return result


def _theme_argument(parser: argparse.ArgumentParser) -> None:
    """The console's theme (switched live from its command palette, ctrl+p)."""
    parser.add_argument(
        "--theme",
        choices=("dark", "light"),
        default="dark",
        help="the console's colours: dark (default) or light, high contrast for "
        "washed-out projectors; ctrl+p switches live",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livepoll",
        description="Live audience polls at conferences, run from a laptop.",
    )
    parser.add_argument("--version", action="version", version=f"livepoll {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = commands.add_parser(
        "check", help="validate poll decks and event files", description=_doc(_check)
    )
    check.add_argument("decks", nargs="+", metavar="FILE", type=Path, help="a deck or an event")
    check.set_defaults(handler=_check)

    run = commands.add_parser(
        "run", help="run a session: server and presenter console", description=_doc(_run)
    )
    _server_arguments(run)
    _theme_argument(run)
    run.set_defaults(handler=_run)

    serve = commands.add_parser(
        "serve", help="run the server alone (attach with 'present')", description=_doc(_serve)
    )
    _server_arguments(serve)
    _token_arguments(serve, f"default: ${TOKEN_ENV}, else a new random one")
    serve.add_argument(
        "--log-file",
        type=Path,
        metavar="FILE",
        help="write the log to FILE, capped: it rotates at 10 MiB and keeps 3 old files "
        "(default: standard error, uncapped)",
    )
    serve.add_argument("--ready-json", action="store_true", help=argparse.SUPPRESS)
    _deployment_arguments(serve)
    _redis_arguments(serve, required=False)
    serve.set_defaults(handler=_serve)

    gateway = commands.add_parser(
        "gateway",
        help="hold phones for a room, or an event's rooms, owned by 'serve --redis'",
        description=_doc(_gateway),
    )
    _redis_arguments(gateway, required=True)
    gateway.add_argument("--host", default=None, help="address to listen on (default: all)")
    gateway.add_argument(
        "--port", type=int, default=8331, help="port to listen on, shareable (default: 8331)"
    )
    gateway.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="N",
        help="messages a second one phone may send (default: 5)",
    )
    gateway.add_argument(
        "--max-per-address",
        type=int,
        default=0,
        metavar="N",
        help="phones allowed from one IP address (default: no cap, for venue NAT)",
    )
    gateway.add_argument("--ready-json", action="store_true", help=argparse.SUPPRESS)
    _deployment_arguments(gateway)
    gateway.set_defaults(handler=_gateway)

    present = commands.add_parser(
        "present", help="attach the presenter console to a server", description=_doc(_present)
    )
    present.add_argument("url", metavar="URL", help="the server's URL, e.g. http://127.0.0.1:8321/")
    _token_arguments(present, f"default: ${TOKEN_ENV}")
    present.add_argument(
        "--watch",
        action="store_true",
        help="watch the room read-only: the console shows it and its keys change nothing "
        "(an event's organiser looking at a room)",
    )
    _theme_argument(present)
    present.set_defaults(handler=_present)

    control = commands.add_parser(
        "control",
        help="the organiser's control room of an event server",
        description=_doc(_control),
    )
    control.add_argument(
        "url", metavar="URL", help="the event server's URL, e.g. https://poll.example.org/"
    )
    _token_arguments(control, f"default: ${ORGANISER_TOKEN_ENV}", whose="organiser")
    control.set_defaults(handler=_control)

    export = commands.add_parser(
        "export", help="export answers as CSV, JSON or an Excel workbook", description=_doc(_export)
    )
    export.add_argument("--db", type=Path, default=Path(DEFAULT_DATABASE), metavar="FILE")
    export.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv")
    export.add_argument(
        "--session", type=int, action="append", metavar="ID", help="only these sessions"
    )
    _room_argument(export)
    _event_argument(export)
    export.add_argument("--output", "-o", type=Path, metavar="PATH", help="default: stdout")
    _crosstab_arguments(export)
    export.set_defaults(handler=_export)

    simulate = commands.add_parser(
        "simulate", help="rehearse with simulated phones", description=_doc(_simulate)
    )
    simulate.add_argument(
        "url",
        metavar="URL",
        help="the join URL, e.g. http://192.168.1.20:8321/ or a room's, http://HOST/r/main-hall/",
    )
    simulate.add_argument(
        "--room", metavar="ID", help="join this room of the event server at URL (/r/ID/)"
    )
    simulate.add_argument("--voters", type=int, required=True, metavar="N", help="phones to join")
    simulate.add_argument(
        "--ramp", type=float, default=0.0, metavar="SECONDS", help="connect them over this time"
    )
    simulate.add_argument(
        "--think", type=float, default=3.0, metavar="SECONDS", help="mean time before answering"
    )
    simulate.add_argument(
        "--duration", type=float, metavar="SECONDS", help="stop after this (default: Ctrl-C)"
    )
    simulate.add_argument("--processes", type=int, metavar="N", help="default: by phone count")
    simulate.add_argument("--seed", type=int, help="repeatable answers and think times")
    simulate.set_defaults(handler=_simulate)

    sessions = commands.add_parser(
        "sessions", help="list the sessions in a database", description=_doc(_sessions)
    )
    sessions.add_argument("--db", type=Path, default=Path(DEFAULT_DATABASE), metavar="FILE")
    _room_argument(sessions)
    sessions.set_defaults(handler=_sessions)

    report = commands.add_parser(
        "report", help="write an HTML report of past sessions", description=_doc(_report)
    )
    report.add_argument("--db", type=Path, default=Path(DEFAULT_DATABASE), metavar="FILE")
    report.add_argument(
        "--session", type=int, action="append", metavar="ID", help="only these sessions"
    )
    _room_argument(report)
    report.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("report.html"),
        metavar="PATH",
        help="default: report.html",
    )
    _event_argument(report)
    _crosstab_arguments(report)
    report.set_defaults(handler=_report)

    results = commands.add_parser(
        "results",
        help="show a past session's results again in the console (read-only)",
        description=_doc(_results),
    )
    results.add_argument("--db", type=Path, default=Path(DEFAULT_DATABASE), metavar="FILE")
    results.add_argument(
        "--session", type=int, metavar="ID", help="the session to show (default: the latest)"
    )
    _room_argument(results)
    _theme_argument(results)
    results.set_defaults(handler=_results)

    purge = commands.add_parser(
        "purge", help="delete past sessions for good", description=_doc(_purge)
    )
    purge.add_argument("--db", type=Path, default=Path(DEFAULT_DATABASE), metavar="FILE")
    which = purge.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--before", metavar="DATE", help="sessions started before this date (UTC), YYYY-MM-DD"
    )
    which.add_argument(
        "--keep-days", type=int, metavar="N", help="sessions started more than N days ago"
    )
    which.add_argument("--session", type=int, action="append", metavar="ID", help="these sessions")
    purge.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    purge.add_argument("--yes", "-y", action="store_true", help="do not ask before deleting")
    purge.add_argument(
        "--unfinished",
        action="store_true",
        help="also sessions that never ended (only when no server is running them)",
    )
    purge.set_defaults(handler=_purge)

    merge = commands.add_parser(
        "merge", help="bring several databases together in one", description=_doc(_merge)
    )
    merge.add_argument("inputs", nargs="+", metavar="DB", type=Path, help="databases to copy")
    merge.add_argument(
        "--output",
        "-o",
        type=Path,
        required=True,
        metavar="FILE",
        help="the database to copy into (created if missing)",
    )
    merge.set_defaults(handler=_merge)

    tokens = commands.add_parser(
        "tokens", help="print an event's organiser and room tokens", description=_doc(_tokens)
    )
    tokens.add_argument("event", metavar="EVENT", type=Path, help="the event file (TOML)")
    tokens.add_argument(
        "--db",
        type=Path,
        default=Path(DEFAULT_DATABASE),
        metavar="FILE",
        help="the event's database (created if missing, so tokens can be printed the day before)",
    )
    tokens.add_argument(
        "--url", metavar="URL", help="the event's public address, to print each room's URLs"
    )
    tokens.set_defaults(handler=_tokens)

    tickets = commands.add_parser(
        "tickets", help="make single-use tickets for --join tickets", description=_doc(_tickets)
    )
    tickets.add_argument("--count", type=int, required=True, metavar="N")
    tickets.add_argument("--db", type=Path, default=Path(DEFAULT_DATABASE), metavar="FILE")
    tickets.add_argument(
        "--url", metavar="URL", help="the join URL, to print a QR code on each ticket"
    )
    tickets.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("tickets.html"),
        metavar="PATH",
        help="printable page of tickets (default: tickets.html)",
    )
    tickets.set_defaults(handler=_tickets)
    return parser


def _redis_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """Where the room's Redis is; the password never goes on the command line."""
    parser.add_argument(
        "--redis",
        metavar="URL",
        required=required,
        help="Redis of the room's gateways, e.g. redis://10.0.0.5:6379/0 (a user name may "
        "be in it; the password comes from $LIVEPOLL_REDIS_PASSWORD or "
        "--redis-password-file)"
        + ("" if required else "; this server then owns the room for the gateways"),
    )
    parser.add_argument(
        "--redis-password-file", type=Path, metavar="FILE", help="read Redis's password from FILE"
    )
    parser.add_argument(
        "--room",
        default=None,
        metavar="ID",
        help="the room's id in Redis (default: default; a gateway without it serves every "
        "room of the event an event server published there, if one did)",
    )


def _redis_settings(args: argparse.Namespace) -> Any:
    """Redis settings from the options, or None after printing why they are wrong."""
    from livepoll.server.redis_bus import RedisSettings, RedisSetupError

    try:
        return RedisSettings.from_options(args.redis, args.redis_password_file)
    except RedisSetupError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return None


def _room_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--room", metavar="ID", help="only the sessions of this room of an event (its id)"
    )


def _event_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--event",
        type=Path,
        metavar="EVENT",
        help="the event file: the overview names its rooms, in its order, under its title",
    )


def _doc(function: Any) -> str:
    return str(function.__doc__ or "").strip()


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _token_arguments(
    parser: argparse.ArgumentParser, default: str, *, whose: str = "presenter"
) -> None:
    variable = ORGANISER_TOKEN_ENV if whose == "organiser" else TOKEN_ENV
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token",
        help=f"the {whose} token, at least 128 bits ({default}); visible to other "
        f"users in 'ps': prefer ${variable} or --token-file",
    )
    tokens.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"read the {whose} token from FILE",
    )


def _trusted_proxy(text: str) -> str:
    """An argparse type: an IP address or a CIDR network (kept as text, parsed again
    by ``TrustedProxies.parse``, which gives the same message)."""
    from livepoll.server.proxy import parse_network

    try:
        parse_network(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _deployment_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for a server or a gateway on a venue machine or a VM: its own TLS, or a
    proxy's (a load balancer's)."""
    parser.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="serve HTTPS and WSS with this PEM certificate chain (with --tls-key)",
    )
    parser.add_argument(
        "--tls-key", type=Path, metavar="FILE", help="the certificate's PEM private key"
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        type=_trusted_proxy,
        default=[],
        metavar="ADDR",
        help="a reverse proxy (an IP address or a network such as 10.0.0.0/8) whose "
        "X-Forwarded-For header names the phone's address; repeatable. From any other "
        "peer the header is ignored",
    )


def _deployment(args: argparse.Namespace, config: Any) -> Any:
    """``config`` (a server's or a gateway's) with the TLS context and trusted proxies
    the options ask for, or None after one line on standard error saying what is wrong
    with them."""
    import dataclasses

    from livepoll.server.proxy import TrustedProxies
    from livepoll.server.tls import ServerTls, TlsError

    if (args.tls_cert is None) != (args.tls_key is None):
        given, missing = ("--tls-cert", "--tls-key")
        if args.tls_cert is None:
            given, missing = missing, given
        print(
            f"livepoll: {given} needs {missing} too: the certificate chain and its private "
            "key go together",
            file=sys.stderr,
        )
        return None
    tls = None
    if args.tls_cert is not None:
        try:
            tls = ServerTls(args.tls_cert, args.tls_key)
        except TlsError as error:
            print(f"livepoll: {error}", file=sys.stderr)
            return None
    proxies = TrustedProxies.parse(args.trusted_proxy)
    return dataclasses.replace(config, tls=tls, trusted_proxies=proxies)


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    from livepoll.engine import MAX_QA_ITEMS, MAX_TEXT_ANSWERS
    from livepoll.server.app import DEFAULT_PORT

    parser.add_argument(
        "deck",
        metavar="DECK",
        type=Path,
        help="the poll deck (TOML); for 'serve', an event file serves every room of it",
    )
    parser.add_argument(
        "--host", default=None, help="address to listen on (default: all interfaces)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port to listen on (default: {DEFAULT_PORT}, or the next free one)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(DEFAULT_DATABASE),
        metavar="FILE",
        help=f"SQLite database (default: ./{DEFAULT_DATABASE})",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL phones should open, when it is not this laptop's LAN address "
        "(a tunnel, a venue DNS name)",
    )
    parser.add_argument(
        "--join",
        choices=("open", "code", "tickets"),
        default=None,
        help="who may vote: any phone (open, the default), phones with the room code "
        "shown on the projector (code), or phones with a ticket (tickets); an event "
        "file sets it per room",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="N",
        help="messages a second one phone may send (default: 5)",
    )
    parser.add_argument(
        "--max-per-address",
        type=int,
        default=0,
        metavar="N",
        help="phones allowed from one IP address (default: no cap, for venue NAT)",
    )
    parser.add_argument(
        "--max-qa-items",
        type=_positive,
        default=MAX_QA_ITEMS,
        metavar="N",
        help=f"questions one Q&A takes from phones (default: {MAX_QA_ITEMS})",
    )
    parser.add_argument(
        "--max-text-answers",
        type=_positive,
        default=MAX_TEXT_ANSWERS,
        metavar="N",
        help=f"answers one text question takes (default: {MAX_TEXT_ANSWERS})",
    )
    _min_segment_argument(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--new-session", action="store_true", help="start a new session even if one can resume"
    )
    mode.add_argument(
        "--resume",
        action="store_true",
        help="resume the latest session of this deck even if it ended",
    )


def _min_segment(text: str) -> int:
    """``--min-segment``: a whole number of respondents, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _min_segment_argument(parser: argparse.ArgumentParser) -> None:
    from livepoll.engine import MIN_SEGMENT

    parser.add_argument(
        "--min-segment",
        type=_min_segment,
        default=MIN_SEGMENT,
        metavar="N",
        help="cross-tab segments with fewer respondents than this are shown only as "
        f'"fewer than N", never their answers (default: {MIN_SEGMENT})',
    )


def _crosstab_pair(text: str) -> tuple[str, str]:
    """``--crosstab QUESTION:BY``: the question to split and the earlier one to split by."""
    question, colon, by = text.partition(":")
    if not colon or not question.strip() or not by.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: write QUESTION:BY, two question ids, e.g. understand:programme"
        )
    return question.strip(), by.strip()


def _crosstab_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--crosstab",
        type=_crosstab_pair,
        action="append",
        default=[],
        metavar="QUESTION:BY",
        help="also split QUESTION's answers by BY's (an earlier question); repeatable",
    )
    _min_segment_argument(parser)


def _export_xlsx(args: argparse.Namespace) -> int:
    """The Excel workbook export: written only to a file, created readable by its owner."""
    from livepoll.crosstabs import CrosstabError
    from livepoll.export import ExportError
    from livepoll.files import write_private
    from livepoll.workbook import build_workbook

    if args.output is None:
        print("livepoll: --format xlsx needs --output FILE.xlsx", file=sys.stderr)
        return 2
    try:
        data = asyncio.run(
            build_workbook(
                args.db,
                args.session,
                room=args.room,
                crosstabs=args.crosstab,
                min_segment=args.min_segment,
            )
        )
    except (ExportError, CrosstabError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    write_private(args.output, data)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _load_deck(path: Path) -> Deck | None:
    try:
        return from_file(path)
    except DeckError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    """Validate poll decks and event files (an event has [[rooms]]; its check covers
    every deck it names). Prints one line per problem (file, line, question or room)
    and exits 1 if any file has a problem, 0 when all are valid."""
    failed = False
    for path in args.decks:
        if _is_event_file(path):
            failed = not _check_event(path) or failed
            continue
        try:
            deck = from_file(path)
        except DeckError as error:
            failed = True
            for problem in error.problems:
                print(problem)
            continue
        count = len(deck.questions)
        print(f"{path}: ok, {count} question{'s' if count != 1 else ''} ({deck.title})")
    return 1 if failed else 0


def _is_event_file(path: Path) -> bool:
    """Whether ``path`` holds an event file; anything unreadable is left to the deck check."""
    from livepoll.event import is_event

    try:
        return is_event(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return False


def _check_event(path: Path) -> bool:
    """Check an event file and its decks, printing a line per problem or per room."""
    from livepoll.event import EventError
    from livepoll.event import from_file as event_from_file

    try:
        event = event_from_file(path)
    except EventError as error:
        for problem in error.problems:
            print(problem)
        return False
    sessions = sum(len(room.decks) for room in event.rooms)
    rooms = len(event.rooms)
    print(
        f"{path}: ok, {rooms} room{'s' if rooms != 1 else ''}, "
        f"{sessions} session{'s' if sessions != 1 else ''} ({event.title})"
    )
    for room in event.rooms:
        print(f"  {room.id}: {room.name}, join {room.join}")
        for number, (deck_path, deck) in enumerate(
            zip(room.deck_paths, room.decks, strict=True), start=1
        ):
            print(f"    {number}. {deck_path} ({len(deck.questions)} questions)")
    return True


def _server_config(args: argparse.Namespace, token: str, deck: Any = None) -> Any:
    """The server's configuration from the command line; ``deck`` is given for an event
    (whose rooms bring their own decks), else read from ``args.deck``."""
    from livepoll.server.app import DEFAULT_PORT, ServerConfig
    from livepoll.server.screen import ScreenTokenError, screen_token_from_environment
    from livepoll.store import SessionMode

    deck = deck or _load_deck(args.deck)
    if deck is None:
        return None
    try:
        screen_token = screen_token_from_environment() or secrets.token_urlsafe(24)
    except ScreenTokenError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return None
    mode: SessionMode = "new" if args.new_session else "resume" if args.resume else "auto"
    return ServerConfig(
        deck=deck,
        database=args.db,
        host=args.host,
        port=DEFAULT_PORT if args.port is None else args.port,
        port_fallback=args.port is None,
        public_url=args.public_url,
        presenter_token=token,
        screen_token=screen_token,
        session_mode=mode,
        join_mode=args.join or "open",
        max_per_address=args.max_per_address,
        max_qa_items=args.max_qa_items,
        max_text_answers=args.max_text_answers,
        min_segment=args.min_segment,
        **({"rate_limit": args.rate_limit} if args.rate_limit else {}),
    )


def _serve(args: argparse.Namespace) -> int:
    """Run the livepoll server alone: it prints the join URL and a presenter token;
    attach a console with 'livepoll present URL --token T'. Stop with Ctrl-C."""
    from livepoll.logfile import setup_server_logging

    try:
        given = chosen_token(args.token, args.token_file)
    except TokenError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 2
    if _is_event_file(args.deck):
        if given is not None:
            print(
                "livepoll: an event server makes its own tokens (see 'livepoll tokens'); "
                "drop --token, --token-file and $" + TOKEN_ENV,
                file=sys.stderr,
            )
            return 2
        if args.room is not None:
            print(
                "livepoll: an event names its own rooms: drop --room (each room of the "
                "event is owned on Redis under its id)",
                file=sys.stderr,
            )
            return 2
        return _serve_event(args)
    token, source = given if given is not None else (secrets.token_urlsafe(24), "new")
    config = _server_config(args, token)
    if config is None:
        return 1
    config = _deployment(args, config)
    if config is None:
        return 2
    setup_server_logging(args.log_file)
    attach = {
        "new": f"{TOKEN_ENV}={token} {_self_command()} present {{url}}",
        "--token": f"{_self_command()} present {{url}} --token {token}",
        "file": f"{_self_command()} present {{url}} --token-file {args.token_file}",
        "environment": f"{_self_command()} present {{url}}  (with ${TOKEN_ENV} set)",
    }[source]
    redis = None
    if args.redis is not None:
        redis = _redis_settings(args)
        if redis is None:
            return 2
    try:
        return asyncio.run(
            _serve_until_stopped(
                config,
                ready_json=args.ready_json,
                attach=attach,
                redis=redis,
                room=args.room or "default",
            )
        )
    except KeyboardInterrupt:
        return 0


def _stop_event() -> asyncio.Event:
    """Set by Ctrl-C or SIGTERM: the server stops cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return stop


async def _serve_until_stopped(
    config: Any, *, ready_json: bool, attach: str, redis: Any = None, room: str = "default"
) -> int:
    from livepoll.server.app import PortInUse, running_server
    from livepoll.server.tuning import tune_process
    from livepoll.store import StorageError

    stop = _stop_event()
    _reload_tls_on_hangup(asyncio.get_running_loop(), config)

    def announce(server: Any) -> None:
        tune_process()  # open files and garbage collection, for thousands of phones
        if ready_json:
            print(ready_line(server), flush=True)
        else:
            _print_banner(server, attach)

    if redis is not None:
        # Imported only here: a server without --redis never loads Redis's client.
        from livepoll.server.owner import serve_owning

        return await serve_owning(config, redis, room, announce, stop)
    try:
        async with running_server(config) as server:
            announce(server)
            await stop.wait()
    except PortInUse as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    except StorageError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    return 0


def ready_line(server: Any) -> str:
    """The one JSON line ``--ready-json`` prints once the server listens (for tests)."""
    return json.dumps(
        {
            "port": server.port,
            "base_url": server.base_url,
            "join_url": server.join_url,
            "screen_url": server.screen_url,
            "database": str(server.store.path),
            "session": server.session_id,
            "notices": server.notices,
        }
    )


def _gateway(args: argparse.Namespace) -> int:
    """Hold phones for a room whose owner runs elsewhere ('livepoll serve DECK --redis
    URL'): serve the voting page, check and forward each phone's messages through
    Redis, and relay acks and results back. Without --room it serves every room of
    the event whose server ('livepoll serve EVENT.toml --redis URL') published them
    in Redis, below /r/ID/, else the room 'default' if it has an owner, else it waits
    for an owner, answering 503 meanwhile. Start as many as the phones need; on one
    machine they share the port. Stop with Ctrl-C."""
    from livepoll.logfile import setup_server_logging
    from livepoll.server.gateway import GatewayConfig

    redis = _redis_settings(args)
    if redis is None:
        return 2
    setup_server_logging(None)
    config = GatewayConfig(
        redis=redis,
        room=args.room or "default",
        host=args.host,
        port=args.port,
        max_per_address=args.max_per_address,
        **({"rate_limit": args.rate_limit} if args.rate_limit else {}),
    )
    config = _deployment(args, config)
    if config is None:
        return 2
    try:
        return asyncio.run(
            _gateway_until_stopped(config, ready_json=args.ready_json, event=args.room is None)
        )
    except KeyboardInterrupt:
        return 0


async def _gateway_until_stopped(config: Any, *, ready_json: bool, event: bool) -> int:
    """Run the gateway; with ``event``, for every room an event owner published in
    Redis, else for the room ``default`` if it has an owner, else waiting (listening,
    answering 503) until one of them appears."""
    from redis.exceptions import RedisError

    from livepoll.server.gateway import owned_rooms, running_gateway
    from livepoll.server.redis_bus import RedisSetupError, connect
    from livepoll.server.tuning import tune_process

    stop = _stop_event()
    _reload_tls_on_hangup(asyncio.get_running_loop(), config)
    try:
        client = await connect(config.redis, retry=False)
    except RedisSetupError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    found = config.room
    if event:
        try:
            found = await owned_rooms(client)
        except (RedisError, OSError, ValueError) as error:
            await client.aclose()
            print(f"livepoll: cannot read the event's rooms from Redis: {error}", file=sys.stderr)
            return 1
    listing = None if found is None or isinstance(found, str) else found
    try:
        async with running_gateway(config, client, listing, waiting=found is None) as front:
            tune_process()
            if found is None:
                _announce_gateway(front, ready_json=ready_json)
                looking = asyncio.create_task(front.wait_for_owner())
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({looking, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not looking.done():
                    looking.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await looking
                    return 0
                try:
                    looking.result()
                except ValueError as error:
                    print(
                        f"livepoll: cannot read the event's rooms from Redis: {error}",
                        file=sys.stderr,
                    )
                    return 1
            _announce_gateway(front, ready_json=ready_json)
            await stop.wait()
    except OSError as error:
        print(f"livepoll: cannot listen on port {config.port}: {error}", file=sys.stderr)
        return 1
    finally:
        await client.aclose()
    return 0


def _announce_gateway(front: Any, *, ready_json: bool) -> None:
    """The gateway's line on standard output: waiting for an owner, or what it serves
    (a JSON line with ``--ready-json``, for tests)."""
    from livepoll.server.gateway import EventGateway

    gateway = front.gateway
    if ready_json:
        ready = {
            "port": front.port,
            "gateway": front.identity,
            "base_url": front.base_url,
            "rooms": front.rooms,
            "waiting": gateway is None,
        }
        print(json.dumps(ready), flush=True)
        return
    where = f"Redis at {front.config.redis.where}"
    if gateway is None:
        line = (
            f"livepoll {__version__} gateway {front.identity} on {front.base_url}: waiting for "
            f"a room owner on {where} (no event's rooms, no owner of room 'default' yet), "
            "answering 503 until one starts; Ctrl-C stops it."
        )
    else:
        what = (
            f"the {len(front.rooms)} rooms of {gateway.listing.title!r}"
            if isinstance(gateway, EventGateway)
            else f"room {gateway.config.room!r}"
        )
        line = (
            f"livepoll {__version__} gateway {front.identity} for {what} on "
            f"{front.base_url} ({where}); Ctrl-C stops it."
        )
    print(line, flush=True)


def _load_event(path: Path) -> Any:
    """The event in ``path``, or None after printing one line per problem."""
    from livepoll.event import EventError
    from livepoll.event import from_file as event_from_file

    try:
        return event_from_file(path)
    except EventError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return None


def _serve_event(args: argparse.Namespace) -> int:
    """``serve EVENT.toml``: every room of the event in this one server."""
    from livepoll.logfile import setup_server_logging

    for flag, given in (
        ("--join", args.join),
        ("--new-session", args.new_session),
        ("--resume", args.resume),
    ):
        if given:
            print(
                f"livepoll: {flag} does not apply to an event: the event file sets each "
                "room's join mode, and each room resumes its programme where it was",
                file=sys.stderr,
            )
            return 2
    event = _load_event(args.deck)
    if event is None:
        return 1
    args.join = "open"  # each room's own mode replaces it
    config = _server_config(args, secrets.token_urlsafe(24), event.rooms[0].decks[0])
    if config is None:
        return 1
    config = _deployment(args, config)
    if config is None:
        return 2
    redis = None
    if args.redis is not None:
        redis = _redis_settings(args)
        if redis is None:
            return 2
    setup_server_logging(args.log_file)
    try:
        return asyncio.run(
            _serve_event_until_stopped(event, config, ready_json=args.ready_json, redis=redis)
        )
    except KeyboardInterrupt:
        return 0


async def _serve_event_until_stopped(
    event: Any, config: Any, *, ready_json: bool, redis: Any = None
) -> int:
    from livepoll.server.app import PortInUse
    from livepoll.server.conference import running_conference
    from livepoll.server.tuning import tune_process
    from livepoll.store import StorageError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    _reload_tls_on_hangup(loop, config)

    def announce(front: Any) -> None:
        tune_process()
        if ready_json:
            ready = {
                "port": front.port,
                "base_url": front.base_url,
                "join_url": front.join_url,
                "database": str(front.store.path),
                "organiser_token": front.organiser_token,
                "rooms": {
                    room_id: {
                        "join_url": room.join_url,
                        "base_url": room.base_url,
                        "token": room.token,
                        "screen_url": room.screen_url,
                        "session": room.session_id,
                    }
                    for room_id, room in front.rooms.items()
                },
            }
            print(json.dumps(ready), flush=True)
        else:
            _print_event_banner(front)

    if redis is not None:
        # Imported only here: an event server without --redis never loads Redis's client.
        from livepoll.server.owner import serve_event_owning

        return await serve_event_owning(event, config, redis, announce, stop)
    try:
        async with running_conference(event, config) as front:
            announce(front)
            await stop.wait()
    except (PortInUse, StorageError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    return 0


def _print_event_banner(front: Any) -> None:
    rooms = len(front.rooms)
    me = _self_command()
    lines = [
        f'livepoll {__version__}: "{front.event.title}", {rooms} room{"s" if rooms != 1 else ""}',
        f"  rooms page (for phones): {front.join_url}",
        f"  control room (organiser): {me} control {front.join_url} --token "
        f"{front.organiser_token}",
    ]
    for room_id, room in front.rooms.items():
        programme = room.programme()
        state = "resumed" if room.resumed else "new"
        lines += [
            f"  {room_id} ({room.config.room_name}): session {programme.position} of "
            f'{programme.length}, "{room.session.deck.title}" (session {room.session_id}, '
            f"{state})",
            f"    join:    {room.join_url}",
            f"    console: {me} present {room.join_url} --token {room.token}",
            f"    screen:  {room.screen_url}",
        ]
    notices = {notice for room in front.rooms.values() for notice in room.notices}
    lines += [
        f"  database: {front.store.path}",
        *(f"  note: {notice}" for notice in sorted(notices)),
        f"  '{me} tokens EVENT --db FILE' prints the tokens again. Ctrl-C stops the server.",
    ]
    print("\n".join(lines), flush=True)


def _tokens(args: argparse.Namespace) -> int:
    """Print an event's tokens: the organiser's (the control room, any room's console)
    and each room's presenter and screen tokens. They are derived from the database's
    secret, so the same database always gives the same tokens: print them the day
    before, or again after a restart. Keep the output as secret as the database."""
    from livepoll.server.conference import event_tokens
    from livepoll.store import StorageError, Store

    event = _load_event(args.event)
    if event is None:
        return 1

    async def secret() -> bytes:
        store = await Store.open(args.db)
        try:
            return await store.secret()
        finally:
            await store.close()

    try:
        tokens = event_tokens(asyncio.run(secret()), event)
    except StorageError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    base = (args.url or "").rstrip("/")
    print(f'"{event.title}" ({args.db})')
    print(f"  organiser: {tokens.organiser}")
    if base:
        print(f"    {_self_command()} control {base}/ --token {tokens.organiser}")
    for room in event.rooms:
        print(f"  {room.id} ({room.name})")
        print(f"    presenter: {tokens.presenters[room.id]}")
        print(f"    screen:    {tokens.screens[room.id]}")
        if base:
            print(
                f"    {_self_command()} present {base}/r/{room.id}/ --token "
                f"{tokens.presenters[room.id]}"
            )
            print(f"    {base}/r/{room.id}/screen?token={tokens.screens[room.id]}")
    return 0


def _print_banner(server: Any, attach: str) -> None:
    deck = server.session.deck
    state = "resumed" if server.resumed else "new"
    lines = [
        f'livepoll {__version__}: "{deck.title}", {len(deck.questions)} questions',
        f"  join URL (for phones): {server.join_url}",
        f"  presenter:  {attach.format(url=_presenter_url(server))}",
        f"  screen (AV desk, read-only): {server.screen_url}",
        f"  database:   {server.store.path} (session {server.session_id}, {state})",
        *(f"  note: {notice}" for notice in server.notices),
        "  Ctrl-C stops the server.",
    ]
    print("\n".join(lines), flush=True)


def _reload_tls_on_hangup(loop: asyncio.AbstractEventLoop, config: Any) -> None:
    """With ``--tls-cert``, SIGHUP (``systemctl reload``) loads renewed certificate
    files without dropping a phone (see ``livepoll.server.tls``)."""
    if config.tls is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            loop.add_signal_handler(signal.SIGHUP, config.tls.reload)


def _presenter_url(server: Any) -> str:
    """The URL the banner tells a console to attach to: the loopback one, unless the
    server speaks TLS, whose certificate names the public host and not 127.0.0.1."""
    return str(server.join_url if server.config.tls else server.base_url)


def _self_command() -> str:
    """How to run livepoll again from a shell: ``livepoll`` when it is on the PATH, else
    this interpreter (a virtual environment that was never activated, as tasks.py makes)."""
    if shutil.which("livepoll"):
        return "livepoll"
    return f"{sys.executable} -m livepoll"


def _run(args: argparse.Namespace) -> int:
    """Run a poll session: start the server in its own process and the presenter
    console attached to it. Quitting the console stops the server."""
    from livepoll.server.screen import (
        SCREEN_TOKEN_ENV,
        ScreenTokenError,
        screen_token_from_environment,
    )
    from livepoll.supervisor import ServerStartError, SupervisedServer

    if _load_deck(args.deck) is None:
        return 1
    arguments = [str(args.deck), "--db", str(args.db)]
    for flag, value in (
        ("--host", args.host),
        ("--port", args.port),
        ("--public-url", args.public_url),
    ):
        if value is not None:
            arguments += [flag, str(value)]
    arguments += ["--join", args.join or "open", "--max-per-address", str(args.max_per_address)]
    arguments += ["--max-qa-items", str(args.max_qa_items)]
    arguments += ["--max-text-answers", str(args.max_text_answers)]
    arguments += ["--min-segment", str(args.min_segment)]
    if args.rate_limit:
        arguments += ["--rate-limit", str(args.rate_limit)]
    if args.new_session:
        arguments.append("--new-session")
    if args.resume:
        arguments.append("--resume")
    try:
        screen_token = screen_token_from_environment() or secrets.token_urlsafe(24)
    except ScreenTokenError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 2
    token = secrets.token_urlsafe(24)
    log = Path(f"{args.db}.log")
    arguments += ["--log-file", str(log)]
    # The screen token too is the same on every restart: the AV desk's URL stays valid.
    server = SupervisedServer(arguments, token, log, TOKEN_ENV, {SCREEN_TOKEN_ENV: screen_token})
    try:
        ready = server.start()
    except ServerStartError as error:
        print(f"livepoll: the server did not start. Its log ({args.db}.log) ends:", file=sys.stderr)
        print(str(error), file=sys.stderr)
        return 1
    try:
        from livepoll.tui.app import make_app

        app = make_app(ready["base_url"], token, stops_server=True, theme=args.theme)

        def tell_the_chair(message: str) -> None:
            # Stays on screen until the chair quits: restarting is over.
            with contextlib.suppress(RuntimeError):  # the console is not running
                app.call_from_thread(
                    app.notify,
                    message[0].upper() + message[1:],
                    title="Server stopped",
                    severity="error",
                    timeout=24 * 60 * 60,
                    markup=False,
                )

        server.on_give_up = tell_the_chair
        app.run()
    finally:
        server.stop()
    if server.gave_up is not None:
        print(f"livepoll: {server.gave_up}", file=sys.stderr)
        print(f"The server's log ({args.db}.log) ends:", file=sys.stderr)
        print(server.log_tail(), file=sys.stderr)
        return 1
    print(f"Session saved in {ready['database']}. Export: {_self_command()} export --db {args.db}")
    return 0


def _present(args: argparse.Namespace) -> int:
    """Attach the presenter console to a running server (started with
    'livepoll serve'). Quitting the console leaves the server running."""
    from livepoll.tui.app import make_app
    from livepoll.tui.link import presenter_url

    try:
        given = chosen_token(args.token, args.token_file)
        presenter_url(args.url)
    except (TokenError, ValueError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 2
    if given is None:
        print(
            f"livepoll: present needs the presenter token 'serve' printed: set ${TOKEN_ENV}, "
            "or give --token-file FILE (or --token, which other users can see in 'ps')",
            file=sys.stderr,
        )
        return 2
    make_app(args.url, given[0], theme=args.theme, watch=args.watch).run()
    return 0


def _control(args: argparse.Namespace) -> int:
    """Open the organiser's control room of an event server ('livepoll serve
    EVENT.toml'): one live row per room, with its deck, question, voting, phones,
    answers in the last minute and whether its chair is attached. Enter opens a room's
    console, w watches it read-only, n moves it to its next session; quitting leaves
    every room running."""
    from livepoll.tui.control import make_control_app
    from livepoll.tui.link import channel_url

    try:
        given = chosen_token(args.token, args.token_file, ORGANISER_TOKEN_ENV)
        channel_url(args.url, "control")
    except (TokenError, ValueError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 2
    if given is None:
        print(
            f"livepoll: control needs the organiser token 'serve' printed (again: 'livepoll "
            f"tokens EVENT --db FILE'): set ${ORGANISER_TOKEN_ENV}, or give --token-file "
            "FILE (or --token, which other users can see in 'ps')",
            file=sys.stderr,
        )
        return 2
    make_control_app(args.url, given[0]).run()
    return 0


def _export(args: argparse.Namespace) -> int:
    """Export every answer in a livepoll database as CSV (one row per response), JSON
    (sessions, questions, option counts and responses) or an Excel workbook (xlsx:
    summary, a sheet and chart per question, cross-tabs, responses). Voters appear
    only as salted pseudonyms."""
    from livepoll.export import EVENT_REFUSAL, ExportError, export

    if not args.db.exists():
        print(f"livepoll: no database at {args.db}", file=sys.stderr)
        return 1
    event = None
    if args.event is not None:
        if args.format != "json":
            print(f"livepoll: {EVENT_REFUSAL}", file=sys.stderr)
            return 1
        event = _load_event(args.event)
        if event is None:
            return 1
    if args.format == "xlsx":
        return _export_xlsx(args)
    from livepoll.crosstabs import CrosstabError

    try:
        text = asyncio.run(
            export(
                args.db,
                args.format,
                args.session,
                room=args.room,
                crosstabs=args.crosstab,
                min_segment=args.min_segment,
                event=event,
            )
        )
    except (ExportError, CrosstabError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        return _write_output(args.output, text, newline="")
    return 0


def _write_output(path: Path, text: str, *, newline: str | None = None, note: str = "") -> int:
    """Write an export, report or ticket sheet for its owner's eyes only (0600, in a
    new directory made 0700): they hold attendees' answers or admission codes.

    Returns the exit code: 1, with the reason said, when the file cannot be written.
    """
    try:
        make_private_directory(path.parent)
        write_private(path, text, newline=newline)
    except OSError as error:
        print(f"livepoll: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"wrote {path}" + (f"; {note}" if note else ""), file=sys.stderr)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    """Join a running session (or, with --room or a room's URL, one room of an event
    server) as N simulated phones, to rehearse before the talk: they
    speak the voting page's protocol, follow the chair, answer each question once after
    a think time (answers spread over 0-2x --think), and show what they saw."""
    from livepoll.simulate.command import run

    return run(
        args.url,
        voters=args.voters,
        ramp=args.ramp,
        think=args.think,
        duration=args.duration,
        processes=args.processes,
        seed=args.seed,
        room=args.room,
    )


def _sessions(args: argparse.Namespace) -> int:
    """List the sessions in a livepoll database: id, room (when sessions ran in an
    event's rooms), deck, start and end (UTC), age, questions asked, answers and
    distinct voters."""
    from datetime import UTC, datetime

    from livepoll.export import ExportError, chosen_sessions
    from livepoll.retention import age

    if not args.db.exists():
        print(f"livepoll: no database at {args.db}", file=sys.stderr)
        return 1
    now = datetime.now(UTC)

    async def listing() -> tuple[bool, list[tuple[str, ...]]]:
        async with chosen_sessions(args.db, None, args.room) as (store, summaries):
            rooms = any(summary.room is not None for summary in await store.sessions())
            rows: list[tuple[str, ...]] = []
            for summary in summaries:
                asked, answers, voters = await store.session_counts(summary.id)
                rows.append(
                    (
                        str(summary.id),
                        *((summary.room or "-",) if rooms else ()),
                        summary.deck.title,
                        summary.started_at[:16].replace("T", " "),
                        (summary.ended_at or "(not ended)")[:16].replace("T", " "),
                        age(summary.started_at, now),
                        f"{asked}/{len(summary.deck.questions)}",
                        str(answers),
                        str(voters),
                    )
                )
            return rooms, rows

    try:
        rooms, rows = asyncio.run(listing())
    except ExportError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    header = ("id", *(("room",) if rooms else ()), "deck", "started (UTC)", "ended (UTC)")
    header += ("age", "asked", "answers", "voters")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if not rows:
        print("(no sessions yet)")
    return 0


def _purge(args: argparse.Namespace) -> int:
    """Delete sessions and everything tied to them (answers, Q&A, log, nicknames,
    admissions; with --before or --keep-days also tickets made before then), then
    rewrite the database file so the data is gone from it. Says what it will delete
    and asks first, unless --yes."""
    from datetime import UTC, datetime

    from livepoll.retention import PurgeError, cutoff_for, purge
    from livepoll.store import StorageError

    if not args.db.exists():
        print(f"livepoll: no database at {args.db}", file=sys.stderr)
        return 1
    now = datetime.now(UTC)

    def confirm() -> bool:
        if args.yes:
            return True
        try:
            answer = input("Delete them for good? [y/N] ")
        except EOFError:
            print()
            return False
        return answer.strip().lower() in ("y", "yes")

    try:
        before = cutoff_for(args.before, args.keep_days, now)
        return asyncio.run(
            purge(
                args.db,
                before=before,
                session_ids=args.session or (),
                unfinished=args.unfinished,
                dry_run=args.dry_run,
                confirm=confirm,
                say=print,
                now=now,
            )
        )
    except (PurgeError, StorageError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1


def _report(args: argparse.Namespace) -> int:
    """Write one self-contained HTML report (inline CSS and SVG charts, no scripts,
    prints on A4) of the chosen sessions; sessions of the same deck are compared, and
    each cross-tab (declared with segment_by, or asked for with --crosstab) is shown."""
    from livepoll.crosstabs import CrosstabError
    from livepoll.export import ExportError
    from livepoll.report import build_report

    if not args.db.exists():
        print(f"livepoll: no database at {args.db}", file=sys.stderr)
        return 1
    event = None
    if args.event is not None:
        event = _load_event(args.event)
        if event is None:
            return 1
    try:
        text = asyncio.run(
            build_report(
                args.db,
                args.session,
                room=args.room,
                crosstabs=args.crosstab,
                min_segment=args.min_segment,
                event=event,
            )
        )
    except (ExportError, CrosstabError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    return _write_output(args.output, text)


def _results(args: argparse.Namespace) -> int:
    """Open the presenter console read-only on a past session (the latest by default)
    to step through its questions with n/p and show the final results again. Nothing
    is sent to phones and nothing in the database changes."""
    from livepoll.export import ExportError
    from livepoll.past import load_past_session

    if not args.db.exists():
        print(f"livepoll: no database at {args.db}", file=sys.stderr)
        return 1
    try:
        past = asyncio.run(load_past_session(args.db, args.session, args.room))
    except ExportError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    from livepoll.tui.app import make_replay_app

    make_replay_app(past.states, past.welcome, past.read_only, theme=args.theme).run()
    return 0


def _merge(args: argparse.Namespace) -> int:
    """Copy every session of the given databases (each chair's laptop) into one, with
    their rooms, answers, event logs, Q&A, nicknames and admissions, under new ids.
    A session already in the output is skipped, so merging a file twice adds nothing.
    Tickets stay behind: they work only with the database that made them."""
    from livepoll.merge import MergeError, merge
    from livepoll.store import StorageError

    try:
        merged = asyncio.run(merge(args.inputs, args.output))
    except (MergeError, StorageError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    for item in merged:
        already = f", {item.present} already there" if item.present else ""
        already += f", {item.updated} updated to this later copy" if item.updated else ""
        print(
            f"{item.path}: {item.copied} session{'s' if item.copied != 1 else ''} copied{already}"
        )
    print(f"merged into {args.output}")
    return 0


def _tickets(args: argparse.Namespace) -> int:
    """Make N single-use ticket codes for sessions run with --join tickets: prints the
    codes and writes a printable page with a QR code per ticket. Each ticket lets one
    phone vote; the database keeps only keyed hashes of the codes."""
    from livepoll.store import Store
    from livepoll.tickets import ticket_sheet

    if not 1 <= args.count <= 100_000:
        print("livepoll: --count must be between 1 and 100000", file=sys.stderr)
        return 2

    async def make() -> list[str]:
        store = await Store.open(args.db)
        try:
            return await store.create_tickets(args.count, time.time())
        finally:
            await store.close()

    codes = asyncio.run(make())
    for code in codes:
        print(code)
    title = f"livepoll tickets ({len(codes)})"
    return _write_output(
        args.output, ticket_sheet(codes, args.url, title), note="the codes are shown only now"
    )
