"""The service's figures as edition data (2020 defaults): retries, backoff, reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NotificationRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default_language: Literal["kk", "ru"] = Field(
        "kk", description="a recipient whose language is not recorded is written to in Kazakh"
    )
    email_max_attempts: int = Field(8, ge=1, description="then the mail is a dead letter")
    webhook_max_attempts: int = Field(6, ge=1, description="then the delivery is a dead letter")
    backoff_first_seconds: float = Field(2.0, gt=0, description="wait after the first failure")
    backoff_factor: float = Field(2.0, ge=1)
    backoff_cap_seconds: float = Field(3600.0, gt=0)
    reminder_hours: int = Field(48, ge=1, description="members are reminded this long ahead")


def default_rules_2020() -> NotificationRules:
    return NotificationRules()


def backoff(rules: NotificationRules, attempt: int) -> timedelta:
    """Exponential backoff after the ``attempt``-th failure (1-based), capped."""
    seconds = rules.backoff_first_seconds * rules.backoff_factor ** (attempt - 1)
    return timedelta(seconds=min(seconds, rules.backoff_cap_seconds))


def max_attempts(rules: NotificationRules, channel: str) -> int:
    return rules.webhook_max_attempts if channel == "webhook" else rules.email_max_attempts
