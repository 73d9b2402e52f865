"""Operational settings of the survey service, from the deployment's settings
(:class:`shared.settings.Settings`, environment ``UZDIK_SURVEY_*``).

The competition figures (rubric, limits, burst rule, how long a survey runs) are edition data
in ``data/``; these are the knobs of one deployment:

* ``UZDIK_SURVEY_LIMITS`` — JSON whose ``per_ip``, ``per_survey`` and ``burst`` entries replace
  the edition's (e.g. ``{"per_survey": {"capacity": 100000, "refill_per_minute": 6000000}}``).
* ``UZDIK_SURVEY_TRUSTED_PROXIES`` — comma-separated addresses or networks of the reverse
  proxies whose ``X-Forwarded-For`` names the resident's address (default: none; the peer
  address is the source).
* ``UZDIK_SURVEY_BATCH_MAX`` (default 500) and ``UZDIK_SURVEY_BATCH_LINGER_MS`` (default 5):
  group commit — at most this many responses per transaction, and how long an idle writer
  waits for company before it writes.
* ``UZDIK_SURVEY_CLOSE_EVERY_S`` (default 30): how often the service closes the surveys whose
  deadline passed (0: never; the embedded mode calls :func:`~.service.close_due` instead).

The resident pepper is ``UZDIK_SURVEY_PEPPER`` (:attr:`shared.settings.Settings.survey_pepper`).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from functools import lru_cache

from services.survey.domain.rubric import SurveyRules, load_rules
from shared.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SurveyConfig:
    rules: SurveyRules
    trusted_proxies: tuple[Network, ...] = ()
    batch_max: int = 500
    batch_linger: float = 0.002
    batch_quiet: float = 0.001
    batch_in_flight: int = 2
    close_every: float = 30.0
    edition: str = "2020"
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SurveyConfig:
        rules = load_rules(settings.survey_edition)
        limits = settings.survey_limits.strip()
        if limits:
            override = json.loads(limits)
            unknown = set(override) - {"per_ip", "per_survey", "burst"}
            if unknown:
                raise ValueError(f"UZDIK_SURVEY_LIMITS: unknown entries {sorted(unknown)}")
            rules = SurveyRules.model_validate(
                {**rules.model_dump(), **override, "rubric": rules.rubric}
            )
        proxies = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in settings.survey_trusted_proxies.split(",")
            if part.strip()
        )
        return cls(
            rules=rules,
            trusted_proxies=proxies,
            batch_max=settings.survey_batch_max,
            batch_linger=settings.survey_batch_linger_ms / 1000,
            batch_quiet=settings.survey_batch_quiet_ms / 1000,
            batch_in_flight=settings.survey_batch_in_flight,
            close_every=settings.survey_close_every_s,
            edition=rules.edition,
        )

    def source_of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The resident's address: the peer, or the last untrusted hop of X-Forwarded-For when
        the peer is a trusted proxy."""
        source = peer or "unknown"
        if not self.trusted_proxies or not forwarded_for or not self._trusted(source):
            return source
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            if not self._trusted(hop):
                return hop
        return source

    def _trusted(self, address: str) -> bool:
        return _trusted(address, self.trusted_proxies)


@lru_cache(maxsize=65_536)  # the same proxies and residents come back, request after request
def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)
