"""The session factory's type, for modules that take one but use no SQLAlchemy themselves (servicers)."""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Sessions: TypeAlias = async_sessionmaker[AsyncSession]
