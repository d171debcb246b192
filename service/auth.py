"""Tenants, their tokens, and who a call is."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.models import ApiToken, Tenant
from service.db.upsert import insert_ignore
from service.error_reasons import ErrorReason
from service.errors import InvalidArgument, PermissionDenied, Unauthenticated, quote

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


async def create_token(session: AsyncSession, tenant_name: str) -> str:
    """A new secret for the tenant (created if new); only its hash is stored."""
    tenant = await ensure_tenant(session, tenant_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(tenant_id=tenant.id, token_hash=hash_token(token)))
    await session.flush()
    return token


class Authenticator:
    """Resolves tokens to principals, with a short cache so every call is not a query."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        digest = hash_token(parse_authorization(authorization))
        cached = self._cache.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(ApiToken.id, Tenant.id, Tenant.name)
                    .join(Tenant, Tenant.id == ApiToken.tenant_id)
                    .where(ApiToken.token_hash == digest)
                )
            ).first()
        if row is None:
            raise Unauthenticated("invalid token")
        principal = Principal(tenant_id=row[1], tenant_name=row[2], token_id=row[0])
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + self._ttl, principal)
        return principal
