"""Operational settings of the survey service, from the environment (``UZDIK_SURVEY_*``).

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
  deadline passed (0: never; the embedded mode calls :func:`~.handlers.close_due` instead).

The resident pepper is ``UZDIK_SURVEY_PEPPER`` (:attr:`shared.settings.Settings.survey_pepper`).
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from services.survey.domain.rubric import SurveyRules, load_rules

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
    def from_env(cls, env: Mapping[str, str] | None = None) -> SurveyConfig:
        env = os.environ if env is None else env
        rules = load_rules(env.get("UZDIK_SURVEY_EDITION", "2020"))
        limits = env.get("UZDIK_SURVEY_LIMITS", "").strip()
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
            for part in env.get("UZDIK_SURVEY_TRUSTED_PROXIES", "").split(",")
            if part.strip()
        )
        return cls(
            rules=rules,
            trusted_proxies=proxies,
            batch_max=max(1, int(env.get("UZDIK_SURVEY_BATCH_MAX", "500"))),
            batch_linger=max(0.0, float(env.get("UZDIK_SURVEY_BATCH_LINGER_MS", "5")) / 1000),
            batch_quiet=max(0.0, float(env.get("UZDIK_SURVEY_BATCH_QUIET_MS", "1")) / 1000),
            batch_in_flight=max(1, int(env.get("UZDIK_SURVEY_BATCH_IN_FLIGHT", "2"))),
            close_every=max(0.0, float(env.get("UZDIK_SURVEY_CLOSE_EVERY_S", "30"))),
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
