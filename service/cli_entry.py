"""The `catalog-ingest` command. The client commands (upload, tasks, records) start without importing the
server's modules (SQLAlchemy, the gateway): a user waits for them at every call."""

from __future__ import annotations

import sys

CLIENT_COMMANDS = frozenset({"upload", "tasks", "records"})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `tasks purge` is the operator's: it works on the database, with the server's modules.
    if argv and argv[0] in CLIENT_COMMANDS and argv[:2] != ["tasks", "purge"]:
        from service.cli_client import main as client_main

        return client_main(argv)
    from service.cli import main as full_main

    return full_main(argv)


if __name__ == "__main__":
    sys.exit(main())
