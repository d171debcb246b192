"""Tenants, their tokens, and who a call is."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import clock
from service.db.models import ApiToken, Tenant
from service.db.upsert import insert_ignore
from service.error_reasons import ErrorReason
from service.errors import InvalidArgument, PermissionDenied, Unauthenticated, quote
from service.timeutil import as_utc

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cit_"


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    tenant_name: str
    token_id: int

    def check_tenant(self, name: str, parameter: str) -> None:
        """The documented paths name the tenant in a parameter; it must be the token's."""
        if name and name != self.tenant_name:
            raise PermissionDenied(
                f"{parameter} '{quote(name)}' is not the tenant of this token",
                reason=ErrorReason.TENANT_MISMATCH,
                metadata={"parameter": parameter},
            )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_authorization(header: str | None) -> str:
    """`Bearer <token>`, or `Basic base64(<token>:)` as curl -u"<token>:" sends it."""
    if not header:
        raise Unauthenticated()
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            user, _, _password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("malformed Basic credentials") from None
        if user:
            return user
    raise Unauthenticated()


async def ensure_tenant(session: AsyncSession, name: str) -> Tenant:
    if not name or len(name) > 200:
        raise InvalidArgument("tenant name must be 1 to 200 characters")
    await session.execute(insert_ignore(session, Tenant, [{"name": name}], ["name"]))
    return (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one()


async def create_token(session: AsyncSession, tenant_name: str, expires_in: float | None = None) -> str:
    """A new secret for the tenant (created if new); only its hash is stored. With `expires_in` (seconds),
    it answers UNAUTHENTICATED from then on (by the database clock)."""
    tenant = await ensure_tenant(session, tenant_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = clock.of(session).later(expires_in) if expires_in is not None else None
    await session.execute(
        insert(ApiToken).values(tenant_id=tenant.id, token_hash=hash_token(token), expires_at=expires_at)
    )
    return token


class Authenticator:
    """Resolves tokens to principals, with a short cache so every call is not a query.

    A token revoked (or deleted) is still accepted by a process that looked it up less than `ttl` seconds
    ago (CATALOG_INGEST_AUTH_CACHE_SECONDS); an expiring token is never cached past its expiry.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._last_used_writes: set[asyncio.Task[None]] = set()

    async def authenticate(self, authorization: str | None) -> Principal:
        digest = hash_token(parse_authorization(authorization))
        cached = self._cache.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with self._sessions() as session:
            now = clock.of(session).now()
            row = (
                await session.execute(
                    select(
                        ApiToken.id,
                        Tenant.id,
                        Tenant.name,
                        ApiToken.revoked_at.is_not(None),
                        ApiToken.expires_at,
                        now,
                        ApiToken.last_used_at,
                    )
                    .join(Tenant, Tenant.id == ApiToken.tenant_id)
                    .where(ApiToken.token_hash == digest)
                )
            ).first()
        if row is None:
            raise Unauthenticated("invalid token")
        token_id, tenant_id, tenant_name, revoked, expires_at, db_now, last_used = row
        db_now = as_utc(db_now)
        if revoked:
            raise Unauthenticated("token revoked")
        lifetime = self._ttl
        if expires_at is not None:
            lifetime = min(lifetime, (as_utc(expires_at) - db_now).total_seconds())
            if lifetime <= 0:
                raise Unauthenticated("token expired")
        principal = Principal(tenant_id=tenant_id, tenant_name=tenant_name, token_id=token_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + lifetime, principal)
        if last_used is None or (db_now - as_utc(last_used)).total_seconds() >= self._ttl:
            self._note_use(token_id)
        return principal

    def _note_use(self, token_id: int) -> None:
        """Record the use in the background: the call does not wait for it (on SQLite the write lock may be a
        running task's), and a failure only leaves `last used` older."""
        write = asyncio.create_task(record_use(self._sessions, token_id))
        self._last_used_writes.add(write)
        write.add_done_callback(self._last_used_writes.discard)


async def record_use(sessions: async_sessionmaker[AsyncSession], token_id: int) -> None:
    try:
        async with sessions() as session:
            now = clock.of(session).now()
            await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
            await session.commit()
    except Exception as exc:
        log.debug("recording the use of token %d failed: %s", token_id, exc)
