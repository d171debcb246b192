"""The webhook tables (migration 0008)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.models import Base, BigId, Bytes, Timestamp

# A delivery waits (PENDING), or ended: DELIVERED (a 2xx answer) or GAVE_UP (attempts or age exhausted).
PENDING, DELIVERED, GAVE_UP = "PENDING", "DELIVERED", "GAVE_UP"


class TenantWebhook(Base):
    """A tenant's default webhook URL and the secret that signs every delivery to the tenant's URLs."""

    __tablename__ = "tenant_webhooks"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    secret: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
            sqlite_where=text("status = 'PENDING'"),
        ),
        Index("ix_webhook_deliveries_task", "task_id"),
    )
    # The idempotency id the receiver sees: the same on every attempt.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[bytes] = mapped_column(Bytes)
    status: Mapped[str] = mapped_column(String(16), server_default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
