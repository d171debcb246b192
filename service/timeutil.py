"""UTC time, the one clock of the service (SQLite hands back naive datetimes: they are UTC)."""

from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def to_timestamp(value: dt.datetime | str) -> Timestamp:
    """A stored time (aware, naive UTC from SQLite, or ISO text) as a protobuf Timestamp."""
    ts = Timestamp()
    ts.FromDatetime(as_utc(value))  # type: ignore[arg-type]
    return ts
