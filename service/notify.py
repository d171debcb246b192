"""The one email a failed task sends to its notification address."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from typing import Any

from service.settings import Settings

log = logging.getLogger(__name__)


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


async def send_failure(settings: Settings, to: str, task_id: int, section: str, error: dict[str, Any]) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = f"catalog-ingest: task {task_id} failed"
    where = ", ".join(f"{key} {error[key]}" for key in ("file", "row", "column", "record_id") if error.get(key))
    message.set_content(
        f"Task {task_id} on catalog '{section}' failed.\n\n"
        f"Reason: {error.get('reason', '')}\n{error.get('message', '')}\n"
        + (f"Where: {where}\n" if where else "")
        + "\nNothing of this task was applied.\n"
    )
    try:
        await asyncio.to_thread(_send, settings, message)
        log.info("sent the failure notice of task %s to %s", task_id, to)
    except (OSError, smtplib.SMTPException):
        # A mail server being down must not change the task's outcome; the failure is in the log.
        log.exception("could not send the failure notice of task %s to %s", task_id, to)
