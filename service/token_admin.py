"""Listing and revoking API tokens (the secrets are never stored, so never shown)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import clock
from service.db.models import ApiToken, Tenant
from service.error_reasons import ErrorReason
from service.errors import NotFound
from service.timeutil import as_utc


@dataclass(frozen=True)
class TokenInfo:
    id: int
    tenant: str
    created: dt.datetime
    last_used: dt.datetime | None
    expires: dt.datetime | None
    revoked: dt.datetime | None


async def list_tokens(session: AsyncSession, tenant: str | None = None) -> list[TokenInfo]:
    query = (
        select(
            ApiToken.id,
            Tenant.name,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.expires_at,
            ApiToken.revoked_at,
        )
        .join(Tenant, Tenant.id == ApiToken.tenant_id)
        .order_by(ApiToken.id)
    )
    if tenant is not None:
        query = query.where(Tenant.name == tenant)
    rows = (await session.execute(query)).all()
    return [
        TokenInfo(
            id=row[0],
            tenant=row[1],
            created=as_utc(row[2]),  # type: ignore[arg-type]
            last_used=as_utc(row[3]),
            expires=as_utc(row[4]),
            revoked=as_utc(row[5]),
        )
        for row in rows
    ]


async def revoke_token(session: AsyncSession, token_id: int) -> bool:
    """Revoke the token (committed); False when it was revoked already. NOT_FOUND for an unknown id."""
    exists = (await session.execute(select(ApiToken.revoked_at).where(ApiToken.id == token_id))).first()
    if exists is None:
        raise NotFound(f"token {token_id} not found", reason=ErrorReason.TOKEN_NOT_FOUND)
    changed = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.of(session).now())
    )
    await session.commit()
    return (changed.rowcount or 0) == 1
