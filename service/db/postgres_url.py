"""`CATALOG_INGEST_DATABASE_URL` for PostgreSQL as libpq tools write it, turned into asyncpg's connect arguments.

asyncpg reads a libpq URL itself (host lists `h1:5432,h2:5432` or `?host=a,b`, percent-encoded user and
password, `sslmode`, `sslrootcert`, ...) and sends the parameters it does not know to the server as
settings at startup, where `application_name` and `options` (`-c statement_timeout=5000`) are what libpq
would send too. So the URL goes to asyncpg whole, except:
- the scheme becomes `postgresql` (`postgres://`, `postgresql+asyncpg://` and friends are accepted);
- `connect_timeout` (seconds) becomes asyncpg's `timeout`;
- any other parameter is refused by name at startup: the server would refuse it later, with a traceback.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg2")
# What asyncpg's DSN parser reads (asyncpg.connect_utils._parse_connect_dsn_and_args).
DSN_PARAMETERS = frozenset(
    {
        "host",
        "port",
        "dbname",
        "database",
        "user",
        "password",
        "passfile",
        "service",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslpassword",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
    }
)
# Sent to the server in the startup packet, as libpq sends them.
SERVER_PARAMETERS = frozenset({"application_name", "options"})
TRANSLATED = frozenset({"connect_timeout", "fallback_application_name"})
SUPPORTED = DSN_PARAMETERS | SERVER_PARAMETERS | TRANSLATED
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def is_postgres_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SCHEMES if "://" in url else False


def connect_args(url: str) -> dict[str, Any]:
    """asyncpg.connect keyword arguments for a PostgreSQL URL; ValueError naming what is not supported."""
    parts = urlsplit(url)
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True) if parts.query else []
    except ValueError:
        raise ValueError(f"database URL: the query string '{parts.query}' is malformed") from None
    unknown = sorted({key for key, _ in query} - SUPPORTED)
    if unknown:
        raise ValueError(
            f"database URL: unsupported parameter {', '.join(unknown)} (supported: {', '.join(sorted(SUPPORTED))})"
        )
    args: dict[str, Any] = {}
    kept: list[tuple[str, str]] = []
    named = {key for key, _ in query}
    for key, value in query:
        if key == "fallback_application_name":
            if "application_name" not in named:
                kept.append(("application_name", value))
            continue
        if key == "connect_timeout":
            try:
                seconds = float(value)
            except ValueError:
                seconds = math.nan
            if not math.isfinite(seconds) or seconds < 0:
                raise ValueError(f"database URL: connect_timeout must be a number of seconds (got '{value}')")
            if seconds > 0:  # libpq: 0 means wait indefinitely
                args["timeout"] = max(seconds, 2.0)  # libpq: values under 2 seconds count as 2
        elif key == "sslmode" and value not in SSLMODES:
            raise ValueError(f"database URL: sslmode must be one of {', '.join(SSLMODES)} (got '{value}')")
        else:
            kept.append((key, value))
    args["dsn"] = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(kept, quote_via=quote), ""))
    return args


POOLERS = ("", "pgbouncer")


def pooler_problems(database_url: str, pooler: str, listen_database_url: str) -> list[str]:
    """What is wrong with CATALOG_INGEST_DATABASE_POOLER and CATALOG_INGEST_LISTEN_DATABASE_URL (service.db.engine
    reads the pooler; workers LISTEN on the URL)."""
    found = []
    if pooler not in POOLERS:
        found.append(f"CATALOG_INGEST_DATABASE_POOLER={pooler!r} must be empty or one of: {', '.join(POOLERS[1:])}")
    elif pooler and not is_postgres_url(database_url):
        found.append(f"CATALOG_INGEST_DATABASE_POOLER={pooler!r} needs a PostgreSQL CATALOG_INGEST_DATABASE_URL")
    if listen_database_url and not is_postgres_url(listen_database_url):
        found.append("CATALOG_INGEST_LISTEN_DATABASE_URL must be a PostgreSQL URL (postgresql://...)")
    return found
