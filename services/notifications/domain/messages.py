"""Rendering a message from the templates kept as data (pure: the catalogue is passed in).

A catalogue is ``{"templates": {key: {lang: {"subject": str, "body": str}}}, "reasons":
{code: {lang: str}}}``; templates are ``str.format`` strings over the notification's params.
A rejection's ``reasons`` (a list of ``{code, detail}``) become one line per reason in the
recipient's language (the detail as given when a code has no text in the catalogue).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from string import Formatter
from typing import Any

ADDRESS = re.compile(r"[^\s<>()\[\]{}'\",;:]+@[^\s<>()\[\]{}'\",;:]+")
NAMESPACE = uuid.UUID("6a0c8f4e-19d2-4b1e-9a57-0d6b1f3c2e19")


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    template: str = ""
    language: str = ""


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


def reason_lines(catalogue: dict[str, Any], reasons: list[dict[str, Any]], language: str) -> str:
    texts = catalogue.get("reasons", {})
    lines = []
    for reason in reasons:
        known = texts.get(str(reason.get("code")), {}).get(language)
        lines.append(f"• {known or reason.get('detail') or reason.get('code')}")
    return "\n".join(lines)


def render(
    catalogue: dict[str, Any], template: str, language: str, params: dict[str, Any]
) -> Message:
    try:
        text = catalogue["templates"][template][language]
    except KeyError as exc:
        raise KeyError(f"no template {template!r} in {language!r}") from exc
    values = _Lenient({k: v for k, v in params.items() if isinstance(v, str | int | float)})
    if "reasons" in params:
        values["reasons"] = reason_lines(catalogue, list(params["reasons"]), language)
    for key, value in params.items():  # per-language params: {"place": {"kk": .., "ru": ..}}
        if isinstance(value, dict) and language in value:
            values[key] = value[language]
    formatter = Formatter()
    return Message(
        subject=formatter.vformat(text["subject"], (), values),
        body=formatter.vformat(text["body"], (), values),
        template=template,
        language=language,
    )


def notification_id(cause_event_id: str, recipient: str, template: str, channel: str) -> str:
    """The same cause, recipient, template and channel: the same notification (idempotent)."""
    return str(uuid.uuid5(NAMESPACE, f"{cause_event_id}|{recipient}|{template}|{channel}"))


def scrub(text: str) -> str:
    """An error's text as it may go on the record: every address-like word replaced (an SMTP
    server's refusal quotes the recipient's address, and the record goes to Kafka)."""
    return ADDRESS.sub("<address>", text)
