"""Argument parsing shared by the `catalog-ingest` commands: one-line usage errors, durations, the global
options every server command also takes after its name."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")


class Parser(argparse.ArgumentParser):
    """A usage error is one line on stderr (no usage block, no traceback) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog.split()[0]}: error: {message}\n")


def duration(text: str) -> float:
    """Seconds from `90d`, `12h`, `30m`, `45s`, `2w` or a bare number of seconds."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (like 90d, 12h, 30m, 45s)")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


def log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a log level ({', '.join(LOG_LEVELS)})")
    return text.upper()


def global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--database-url, --log-level and --log-format. On a subcommand their default is "not given", so the value
    given before the subcommand (or the environment's) stands unless it is given again after it."""
    default = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "--database-url",
        help="the database: a postgresql:// URL, or sqlite:///PATH (env CATALOG_INGEST_DATABASE_URL;"
        " default: the SQLite file CATALOG_INGEST_SQLITE_PATH, ./catalog-ingest.db)",
        **default,
    )
    parser.add_argument(
        "--log-level",
        type=log_level,
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (env CATALOG_INGEST_LOG_LEVEL; default INFO)",
        **default,
    )
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "text"),
        help="json, text, or auto: text on a terminal, else JSON (env CATALOG_INGEST_LOG_FORMAT; default auto)",
        **default,
    )


def fail(message: str, code: int = 1) -> int:
    print(f"catalog-ingest: {message}", file=sys.stderr)
    return code
