"""Bearer tokens (JWT): a JWKS-backed verifier for a real identity provider, a dev issuer.

Claims: sub, name, roles, region (KATO; absent for republic-wide roles), commission, exp.

Only the roles national by nature act without a ``region`` claim: the organiser (the Agency)
and the auditor; and the commission roles of the Republican commission, whose token names
that commission and which act on what concerns no region (its own commission). Any other
role without a region is refused (403 ``region_required``): a region-less token is not a
token for every region.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Forbidden, Unauthorized
from shared.events import Actor
from shared.settings import Settings

ROLES = frozenset(
    {
        "organiser",
        "secretary",
        "member",
        "chair",
        "ethics",
        "operator",
        "auditor",
        "nominator",
        "integrator",
    }
)
NATIONAL = frozenset({"organiser", "auditor", "integrator"})
"""Roles that act in every region: a token for them may carry no ``region``."""
COMMISSION_ROLES = frozenset({"secretary", "member", "chair", "ethics"})
"""Roles of a commission: region-less only on the Republican commission named in the token."""
ASYMMETRIC = ["RS256", "ES256", "EdDSA", "PS256"]


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    sub: str
    name: str = ""
    roles: list[str] = Field(default_factory=list)
    region: str | None = None
    commission: str | None = None

    def act_as(self, *roles: str, region: str | None = None) -> Actor:
        """The actor for a command that needs one of ``roles`` (and ``region`` when scoped;
        ``None``: the command concerns no region, or every region)."""
        held = [r for r in roles if r in self.roles]
        if not held:
            raise Forbidden(
                "role_not_allowed",
                f"this needs one of the roles {', '.join(roles)}; the token has "
                f"{', '.join(self.roles) or 'none'}",
            )
        role = next((r for r in held if self._may_act_in(r, region)), None)
        if role is None:
            raise Forbidden(
                "region_required",
                f"a token for {', '.join(held)} must name its region; this one names none",
            )
        if region is not None and self.region is not None and self.region != region:
            raise Forbidden(
                "region_not_allowed",
                f"the token is for region {self.region}; this concerns region {region}",
            )
        return Actor(id=self.sub, role=role, region=self.region)

    def _may_act_in(self, role: str, region: str | None) -> bool:
        """Whether ``role`` of this token may act where ``region`` says (see the module)."""
        if self.region is not None or role in NATIONAL:
            return True
        return region is None and role in COMMISSION_ROLES and self.commission is not None


class TokenVerifier:
    """Bearer tokens to principals. A token verified once is remembered (at most ``KEPT`` of
    them, each for at most ``REMEMBER_SECONDS`` and never past its own ``exp``): a person's
    every request carries the same token, and its signature and claims need checking once, not
    on each of them. A token refused is not remembered: it is checked again each time."""

    KEPT = 4096
    REMEMBER_SECONDS = 300.0

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._clock = clock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The token's principal (``Unauthorized`` otherwise). Called from worker threads (a
        sync FastAPI dependency, the portal's sign-in): the memory is kept under a lock, the
        check itself runs outside it."""
        known = self.remembered(token)
        if known is not None:
            return known
        now = self._clock()
        principal, expires = self._check(token)
        with self._lock:
            self._verified[token] = (principal, min(expires, now + self.REMEMBER_SECONDS))
            self._verified.move_to_end(token)
            while len(self._verified) > self.KEPT:
                self._verified.popitem(last=False)
        return principal

    def remembered(self, token: str) -> Principal | None:
        """The principal of a token verified lately and still valid, without checking it
        again (no network, no signature): None when it has to be checked."""
        now = self._clock()
        with self._lock:
            known = self._verified.get(token)
            if known is not None and now < known[1]:
                self._verified.move_to_end(token)
                return known[0]
        return None

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            claims = self._decode(token)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token_expired", "the bearer token has expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized("token_invalid", f"the bearer token is not valid: {exc}") from exc
        unknown = set(claims.get("roles", [])) - ROLES
        if unknown:
            raise Unauthorized("token_invalid", f"unknown roles in token: {sorted(unknown)}")
        return Principal.model_validate(claims, strict=False), float(claims["exp"])

    def _decode(self, token: str) -> dict[str, Any]:
        options: Any = {"require": ["exp", "sub"]}
        s = self.settings
        if self._jwks is not None:
            key = self._jwks.get_signing_key_from_jwt(token).key
            return jwt.decode(
                token,
                key,
                algorithms=ASYMMETRIC,
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                options=options,
            )
        if not s.dev_jwt_secret:
            raise ValueError("no JWKS URL and no dev issuer configured")
        return jwt.decode(
            token,
            s.dev_jwt_secret,
            algorithms=["HS256"],
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
            options=options,
        )


def issue_dev_token(
    settings: Settings,
    sub: str,
    roles: list[str],
    region: str | None = None,
    commission: str | None = None,
    name: str = "",
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    """A token from the dev issuer (local runs, demo, tests). Never for production."""
    if not settings.dev_jwt_secret:
        raise ValueError("the dev issuer is disabled (UZDIK_DEV_JWT_SECRET is empty)")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "name": name or sub,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "exp": issued + ttl,
    }
    if region:
        claims["region"] = region
    if commission:
        claims["commission"] = commission
    return jwt.encode(claims, settings.dev_jwt_secret, algorithm="HS256")
