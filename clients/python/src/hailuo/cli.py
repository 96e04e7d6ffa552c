"""The `hailuo` command: generate videos, read jobs and credit, start the MCP server.

Exit codes: 0 done; 1 the API refused or could not be reached; 2 bad usage or
no key; 3 the generation ended without a video; 4 still running when
`--timeout` ran out; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from hailuo import __version__
from hailuo._client import Client
from hailuo.errors import APIConnectionError, APIError, GenerationError, HailuoError, WaitTimeout
from hailuo.models import Generation, Progress

EXIT_API, EXIT_USAGE, EXIT_FAILED, EXIT_TIMEOUT = 1, 2, 3, 4
BAR_WIDTH = 30


class ProgressBar:
    """`[#####     ]  50% running  12s` on stderr: redrawn in place on a terminal, one line per change otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = ""

    def __call__(self, progress: Progress) -> None:
        filled = round(progress.fraction * BAR_WIDTH)
        bar = "#" * filled + " " * (BAR_WIDTH - filled)
        line = f"[{bar}] {progress.percent:3d}% {progress.status}"
        if self.tty:
            self.stream.write(f"\r{line}  {progress.elapsed:4.0f}s")
            if progress.generation.done:
                self.stream.write("\n")
        elif line != self.last:
            self.stream.write(f"{line}  {progress.elapsed:.0f}s\n")
        self.stream.flush()
        self.last = line


def _money(value: Any) -> str:
    return f"${value}"


def _describe(job: Generation) -> str:
    parts = [job.id, job.status, job.model, f"{_money(job.price.amount)}{' charged' if job.price.charged else ''}"]
    if job.created_at:
        parts.append(job.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    if job.error:
        parts.append(f"{job.error.code}: {job.error.message}")
    return "  ".join(parts)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


# --- Commands ------------------------------------------------------------------------------------------


def _metadata_item(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: give KEY=VALUE")
    return key, value


# The default models: hailuo-02-fast animates a first frame only, hailuo-02 also renders from text alone.
IMAGE_MODEL = "hailuo-02-fast"
TEXT_MODEL = "hailuo-02"


def cmd_generate(client: Client, args: argparse.Namespace) -> int:
    metadata = dict(args.metadata or [])
    job = client.generations.create(
        model=args.model or (IMAGE_MODEL if args.image else TEXT_MODEL),
        prompt=args.prompt,
        first_frame=args.image,
        last_frame=args.last_image,
        duration=args.duration,
        resolution=args.resolution,
        mode=args.mode,
        metadata=metadata or None,
    )
    print(f"Started {job.id} ({job.model}, {_money(job.price.amount)} if it succeeds)", file=sys.stderr)
    if args.no_wait:
        _print_json(job.raw) if args.json else print(job.id)
        return 0
    bar = None if args.quiet else ProgressBar(sys.stderr)
    job = client.generations.wait(job, timeout=args.timeout, on_progress=bar)
    if not job.succeeded:
        if args.json:
            _print_json(job.raw)
        raise GenerationError(job)
    target = client.generations.download(job, args.output or Path.cwd())
    if args.json:
        _print_json({**job.raw, "saved_to": str(target)})
    else:
        print(f"Saved {job.id} to {target} ({_money(job.price.amount)} charged)", file=sys.stderr)
        print(target)
    return 0


def cmd_balance(client: Client, args: argparse.Namespace) -> int:
    balance = client.balance()
    if args.json:
        _print_json(balance.__dict__)
        return 0
    print(f"Balance:   {_money(balance.balance)}")
    print(f"Held:      {_money(balance.held)}  (reserved for running generations)")
    print(f"Available: {_money(balance.available)}")
    return 0


def cmd_list(client: Client, args: argparse.Namespace) -> int:
    jobs = []
    for job in client.generations.list(status=args.status, model=args.model, limit=min(args.limit, 100)):
        jobs.append(job)
        if len(jobs) >= args.limit:
            break
    if args.json:
        _print_json([job.raw for job in jobs])
    elif not jobs:
        print("No generations.", file=sys.stderr)
    for job in jobs if not args.json else []:
        print(_describe(job))
    return 0


def cmd_get(client: Client, args: argparse.Namespace) -> int:
    job = client.generations.get(args.id)
    if args.json:
        _print_json(job.raw)
    else:
        print(_describe(job))
        if job.output:
            print(job.output.download_url)
    return 0


def cmd_cancel(client: Client, args: argparse.Namespace) -> int:
    job = client.generations.cancel(args.id)
    _print_json(job.raw) if args.json else print(_describe(job))
    return 0


def cmd_download(client: Client, args: argparse.Namespace) -> int:
    print(client.generations.download(args.id, args.output or Path.cwd()))
    return 0


def cmd_models(client: Client, args: argparse.Namespace) -> int:
    models = client.models.list()
    if args.json:
        _print_json([{"id": m.id, "name": m.name, "prices": [p.__dict__ for p in m.prices]} for m in models])
        return 0
    for model in models:
        print(f"{model.id}  {model.name}")
        for price in model.prices:
            mode = f" {price.mode}" if price.mode else ""
            print(f"    {price.duration:>3}s {price.resolution:>6}{mode:<10} {_money(price.price)}")
    return 0


def cmd_mcp(client: Client | None, args: argparse.Namespace) -> int:
    try:
        from hailuo.mcp import main as mcp_main
    except ImportError as exc:
        print(f"error: the MCP server needs the mcp package: pip install 'hailuo[mcp]' ({exc})", file=sys.stderr)
        return EXIT_USAGE
    mcp_main()
    return 0


# --- Parsing and running ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hailuo",
        description="Hailuo Studio video generation from the command line. "
        "Reads the key from HAILUO_API_KEY and the server from HAILUO_BASE_URL.",
    )
    parser.add_argument("--version", action="version", version=f"hailuo {__version__}")
    parser.add_argument("--base-url", help="the API's address (default: $HAILUO_BASE_URL)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    generate = commands.add_parser("generate", help="make a video and save it", parents=[common])
    generate.add_argument("prompt", help="what the video shows")
    generate.add_argument(
        "--model", help=f"model id (see `hailuo models`); default {IMAGE_MODEL} with --image, {TEXT_MODEL} without"
    )
    generate.add_argument("--image", help="first frame: a local file, an http(s) URL or an upload id")
    generate.add_argument("--last-image", help="last frame, likewise (where the model takes one)")
    generate.add_argument("--duration", type=int, help="seconds (6 or 10, by model)")
    generate.add_argument("--resolution", help="512p, 768p or 1080p (by model)")
    generate.add_argument("--mode", help="minimax-hailuo-2 only: standard or pro")
    generate.add_argument(
        "--metadata", action="append", type=_metadata_item, metavar="KEY=VALUE", help="kept with the job; repeatable"
    )
    generate.add_argument("-o", "--output", help="file or folder to save the MP4 to (default: ./<id>.mp4)")
    generate.add_argument("--no-wait", action="store_true", help="print the id and return at once")
    generate.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most (default 1800)")
    generate.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    generate.set_defaults(run=cmd_generate)

    commands.add_parser("balance", help="credit: balance, held, available", parents=[common]).set_defaults(
        run=cmd_balance
    )

    listing = commands.add_parser("list", help="recent generations, newest first", parents=[common])
    listing.add_argument("--status", help="e.g. succeeded, or running,queued")
    listing.add_argument("--model")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    listing.set_defaults(run=cmd_list)

    get = commands.add_parser("get", help="one generation", parents=[common])
    get.add_argument("id")
    get.set_defaults(run=cmd_get)

    cancel = commands.add_parser("cancel", help="cancel a running generation (nothing is charged)", parents=[common])
    cancel.add_argument("id")
    cancel.set_defaults(run=cmd_cancel)

    download = commands.add_parser("download", help="save a finished generation's video", parents=[common])
    download.add_argument("id")
    download.add_argument("-o", "--output", help="file or folder (default: ./<id>.mp4)")
    download.set_defaults(run=cmd_download)

    commands.add_parser("models", help="models and their prices", parents=[common]).set_defaults(run=cmd_models)
    commands.add_parser(
        "mcp", help="run the MCP server on stdio (for coding assistants)", parents=[common]
    ).set_defaults(run=cmd_mcp)
    return parser


def _explain(error: APIError) -> str:
    text = f"error: {error.message}"
    details = [f"HTTP {error.status}"]
    if error.code:
        details.append(f"code {error.code}")
    if error.field:
        details.append(f"field {error.field}")
    return f"{text} ({', '.join(details)})"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "mcp":
        return cmd_mcp(None, args)
    if not os.environ.get("HAILUO_API_KEY"):
        print("error: set HAILUO_API_KEY to an API key (made on the API keys page of your account)", file=sys.stderr)
        return EXIT_USAGE
    client = Client(base_url=args.base_url)
    try:
        with client:
            code: int = args.run(client, args)
            return code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except APIError as exc:
        print(_explain(exc), file=sys.stderr)
        return EXIT_API
    except APIConnectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_API
    except GenerationError as exc:
        print(f"error: {exc}; nothing was charged", file=sys.stderr)
        return EXIT_FAILED
    except WaitTimeout as exc:
        print(f"error: {exc}; it goes on: `hailuo get {exc.generation.id}`", file=sys.stderr)
        return EXIT_TIMEOUT
    except HailuoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def run() -> None:
    sys.exit(main())
