"""The notifications service's own settings (environment ``UZDIK_NOTIFY_*``) and catalogue."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notifications.domain.edition_figures import NotificationRules

DATA = Path(__file__).resolve().parent / "data"


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UZDIK_NOTIFY_", extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "uzdik@localhost"
    webhook_timeout_seconds: float = 10.0
    send_every_seconds: float = 1.0  # the sender's poll; 0: no sender in this process
    consume_results: bool = True  # subscribe to uzdik.results for the webhooks
    rules: NotificationRules = Field(
        default_factory=NotificationRules, description="UZDIK_NOTIFY_RULES: JSON of the figures"
    )


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    found: dict[str, Any] = json.loads((DATA / "catalogue.json").read_text(encoding="utf-8"))
    return found
