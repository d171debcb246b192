"""CLI and configuration hygiene (issue 12): usage errors are one line, settings are validated at start with
one message listing every problem, booleans parse, every option says what it does and which variable it maps
to, and the README's Configuration table lists every setting."""

from __future__ import annotations

import argparse
import dataclasses
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import _parser
from service.db.schema_version import head
from service.settings import PREFIX, Settings, SettingsError
from service.settings_check import problems
from tests.processes import ROOT

# Variables the commands read that are not Settings fields: the client's and the log level's.
CLI_ONLY = {"CATALOG_INGEST_SERVER", "CATALOG_INGEST_TOKEN", "CATALOG_INGEST_LOG_LEVEL"}


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin"} | {f"{PREFIX}{k.upper()}": v for k, v in env.items()}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def test_a_bad_log_level_is_a_one_line_usage_error() -> None:
    for args in (("--log-level", "banana", "serve"), ("serve", "--log-level", "banana")):
        done = cli(*args)
        assert done.returncode == 2
        assert done.stderr == (
            "catalog-ingest: error: argument --log-level: 'banana' is not a log level"
            " (DEBUG, INFO, WARNING, ERROR, CRITICAL)\n"
        )
    from_env = cli("migrate", "current", log_level="banana")
    assert from_env.returncode == 2 and from_env.stderr.count("\n") == 1
    assert from_env.stderr.startswith("catalog-ingest: error: CATALOG_INGEST_LOG_LEVEL: 'banana' is not a log level")


def test_version() -> None:
    done = cli("--version")
    assert done.returncode == 0 and re.fullmatch(r"catalog-ingest \d+\.\d+\.\d+\S*\n", done.stdout)


def test_global_options_work_after_the_subcommand(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/after.db"
    done = cli("migrate", "--database-url", url, "--log-level", "warning")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "after.db").exists()
    # Given before and after, the one after the subcommand wins.
    current = cli("--database-url", "sqlite:////nonexistent/dir/x.db", "migrate", "current", "--database-url", url)
    assert current.stdout.strip() == f"{head()} (latest {head()}; up to date)"


def test_every_problem_in_one_message(tmp_path: Path) -> None:
    done = cli(
        "serve",
        database_url=f"sqlite:///{tmp_path}/x.db",
        worker_concurrency="0",
        worker_lease_timeout="1",
        worker_heartbeat_interval="2",
        task_retention_seconds="3600",
        grpc_port="0",
        http_port="0",
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "catalog-ingest: error: invalid configuration (3 problems):",
        "  - CATALOG_INGEST_WORKER_CONCURRENCY=0 must be at least 1",
        "  - CATALOG_INGEST_WORKER_LEASE_TIMEOUT=1 must be longer than CATALOG_INGEST_WORKER_HEARTBEAT_INTERVAL=2",
        "  - CATALOG_INGEST_TASK_RETENTION_SECONDS=3600 must not be shorter than"
        " CATALOG_INGEST_IDEMPOTENCY_WINDOW_SECONDS=86400",
    ]
    assert not (tmp_path / "x.db").exists(), "nothing starts on a configuration that cannot work"
    # Variables that do not parse and settings that do not fit, in the same message.
    unparsable = cli(
        "serve", max_uploads="many", migrate_on_start="maybe", shutdown_grace="soon", worker_concurrency="-1"
    )
    assert unparsable.returncode == 2
    assert unparsable.stderr.splitlines() == [
        "catalog-ingest: error: invalid configuration (4 problems):",
        "  - CATALOG_INGEST_MAX_UPLOADS='many' is not a valid int",
        "  - CATALOG_INGEST_SHUTDOWN_GRACE='soon' is not a valid float",
        "  - CATALOG_INGEST_MIGRATE_ON_START='maybe' is not a boolean (true/false, 1/0, yes/no, on/off)",
        "  - CATALOG_INGEST_WORKER_CONCURRENCY=-1 must be at least 1",
    ]


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli(
            "serve",
            "--grpc-port",
            str(port),
            database_url=f"sqlite:///{tmp_path}/x.db",
            grpc_host="127.0.0.1",
            http_port="0",
        )
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"catalog-ingest: error: invalid configuration: CATALOG_INGEST_GRPC_PORT={port} cannot be used on 127.0.0.1:"
    )
    # A worker-only process listens on nothing: the port is not its concern.
    settings = Settings.from_env({}, grpc_host="127.0.0.1", grpc_port=port)
    assert problems(settings, ["worker"]) == []


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("yes", True), ("no", False), ("TRUE", True)],
)
def test_booleans_parse(raw: str, value: bool) -> None:
    assert Settings.from_env({f"{PREFIX}MIGRATE_ON_START": raw}).migrate_on_start is value


def test_a_bad_boolean_names_its_variable() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({f"{PREFIX}MIGRATE_ON_START": "maybe"})
    assert str(error.value) == (
        "invalid configuration: CATALOG_INGEST_MIGRATE_ON_START='maybe' is not a boolean"
        " (true/false, 1/0, yes/no, on/off)"
    )


def test_the_defaults_are_valid() -> None:
    assert problems(Settings()) == []


def _actions(parser: argparse.ArgumentParser, path: str = "catalog-ingest") -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield path, action


def test_every_option_has_help_naming_its_variable() -> None:
    fields = {PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
    missing = [f"{path} {a.option_strings or a.dest}" for path, a in _actions(_parser()) if not (a.help or "").strip()]
    assert missing == []
    for path, action in _actions(_parser()):
        for option in action.option_strings:
            variable = PREFIX + option.removeprefix("--").replace("-", "_").upper()
            if variable in fields | CLI_ONLY:
                assert variable in (action.help or ""), f"{path} {option}: help does not name {variable}"


def test_the_readme_configuration_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(CATALOG_INGEST_[A-Z0-9_]+)`", section, re.MULTILINE)
    fields = [PREFIX + f.name.upper() for f in dataclasses.fields(Settings)]
    assert sorted(set(fields) - set(listed)) == [], "settings missing from the README's Configuration table"
    assert sorted(set(listed) - set(fields) - CLI_ONLY) == [], "README rows that are no setting"
    assert len(listed) == len(set(listed)), "a setting listed twice"
