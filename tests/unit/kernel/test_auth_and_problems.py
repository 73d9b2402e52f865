"""Auth and problem+json at the HTTP edge, through a real FastAPI app (no I/O beyond ASGI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends

from shared.auth import Principal, TokenVerifier, issue_dev_token
from shared.edge import principal
from shared.errors import RuleViolation
from shared.http import create_app
from shared.settings import Settings

SETTINGS = Settings(dev_jwt_secret="unit-test-secret-that-is-long-enough-for-hs256")


def app() -> httpx.AsyncClient:
    api = APIRouter()

    @api.post("/v1/regions/{region}/things")
    async def act(region: str, who: Principal = Depends(principal)) -> dict[str, str]:
        actor = who.act_as("secretary", region=region)
        return {"actor": actor.id, "role": actor.role}

    @api.post("/v1/broken")
    async def broken() -> None:
        raise RuleViolation("score_out_of_range", "criterion 3 is 11; the maximum is 10")

    fastapi_app = create_app("unit", TokenVerifier(SETTINGS), [api])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fastapi_app), base_url="http://t")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_request_without_a_token_is_refused_with_401_problem_json() -> None:
    async with app() as client:
        r = await client.post("/v1/regions/110000000/things")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "token_missing"


async def test_an_expired_token_is_refused_with_401() -> None:
    token = issue_dev_token(
        SETTINGS,
        "s1",
        ["secretary"],
        region="110000000",
        now=datetime.now(UTC) - timedelta(hours=10),
        ttl=timedelta(hours=1),
    )
    async with app() as client:
        r = await client.post("/v1/regions/110000000/things", headers=bearer(token))
    assert r.status_code == 401 and r.json()["code"] == "token_expired"


async def test_a_token_signed_with_another_key_is_refused() -> None:
    forged = jwt.encode(
        {
            "sub": "x",
            "roles": ["secretary"],
            "exp": 4102444800,
            "iss": SETTINGS.jwt_issuer,
            "aud": SETTINGS.jwt_audience,
        },
        "not-the-secret-but-just-as-long-as-the-real-one!",
        algorithm="HS256",
    )
    async with app() as client:
        r = await client.post("/v1/regions/110000000/things", headers=bearer(forged))
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"


async def test_another_regions_token_is_refused_with_403() -> None:
    token = issue_dev_token(SETTINGS, "s1", ["secretary"], region="150000000")
    async with app() as client:
        r = await client.post("/v1/regions/110000000/things", headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["code"] == "region_not_allowed"


async def test_a_role_that_may_not_act_is_refused_with_403() -> None:
    token = issue_dev_token(SETTINGS, "m1", ["member"], region="110000000")
    async with app() as client:
        r = await client.post("/v1/regions/110000000/things", headers=bearer(token))
    assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"


async def test_the_right_token_acts_and_names_the_actor() -> None:
    token = issue_dev_token(SETTINGS, "s1", ["secretary"], region="110000000")
    async with app() as client:
        r = await client.post("/v1/regions/110000000/things", headers=bearer(token))
    assert r.status_code == 200 and r.json() == {"actor": "s1", "role": "secretary"}


async def test_a_domain_refusal_is_problem_json_with_its_stable_code() -> None:
    async with app() as client:
        r = await client.post("/v1/broken")
    body = r.json()
    assert r.status_code == 422 and body["code"] == "score_out_of_range"
    assert body["type"].endswith("/score-out-of-range") and "maximum is 10" in body["detail"]


@pytest.mark.parametrize("roles", [["wizard"], ["member", "root"]])
def test_unknown_roles_in_a_token_are_refused(roles: list[str]) -> None:
    token = issue_dev_token(SETTINGS, "x", roles)
    with pytest.raises(Exception, match="unknown roles"):
        TokenVerifier(SETTINGS).verify(token)


@pytest.mark.parametrize(
    "role", ["nominator", "operator", "secretary", "member", "chair", "ethics"]
)
def test_a_token_without_a_region_does_not_act_in_every_region(role: str) -> None:
    from shared.errors import Forbidden

    who = Principal(sub="p", roles=[role])
    for region in ("110000000", None):
        with pytest.raises(Forbidden) as refused:
            who.act_as(role, region=region)
        assert refused.value.code == "region_required"


async def test_a_region_less_secretary_token_is_refused_403_region_required() -> None:
    token = issue_dev_token(SETTINGS, "s1", ["secretary"])
    async with app() as client:
        r = await client.post("/v1/regions/110000000/things", headers=bearer(token))
    assert r.status_code == 403 and r.json()["code"] == "region_required"


def test_national_roles_and_the_republican_commission_act_without_a_region() -> None:
    for role in ("organiser", "auditor"):
        assert Principal(sub="p", roles=[role]).act_as(role, region="110000000").role == role
    republican = Principal(sub="p", roles=["chair"], commission="republican-1")
    assert republican.act_as("chair", region=None).role == "chair"  # its own commission
    with pytest.raises(Exception, match="region_required"):
        republican.act_as("chair", region="110000000")  # a regional matter: not its own
    mixed = Principal(sub="p", roles=["nominator", "auditor"])
    assert mixed.act_as("nominator", "auditor", region="110000000").role == "auditor"


class CountingVerifier(TokenVerifier):
    def __init__(self, clock: list[float]) -> None:
        super().__init__(SETTINGS, clock=lambda: clock[0])
        self.decoded = 0

    def _decode(self, token: str) -> dict[str, object]:
        self.decoded += 1
        return super()._decode(token)


def test_a_verified_token_is_checked_once_and_remembered_no_longer_than_it_is_valid() -> None:
    issued = datetime.now(UTC)
    token = issue_dev_token(SETTINGS, "m-1", ["member"], ttl=timedelta(seconds=120), now=issued)
    clock = [issued.timestamp()]
    verifier = CountingVerifier(clock)
    assert verifier.verify(token).sub == verifier.verify(token).sub == "m-1"
    assert verifier.decoded == 1
    clock[0] += 121  # past its exp by the verifier's clock: not taken from memory, checked again
    verifier.verify(token)
    assert verifier.decoded == 2
    clock[0] += TokenVerifier.REMEMBER_SECONDS + 1  # kept at most that long either way
    verifier.verify(token)
    assert verifier.decoded == 3


def test_a_refused_token_is_refused_each_time_and_never_remembered() -> None:
    clock = [datetime.now(UTC).timestamp()]
    verifier = CountingVerifier(clock)
    forged = jwt.encode({"sub": "x", "exp": clock[0] + 60}, "another-secret-long-enough-32-bytes")
    for _ in range(2):
        with pytest.raises(Exception, match="not valid"):
            verifier.verify(forged)
    assert verifier.decoded == 2


def test_tokens_verified_from_many_threads_at_once_are_remembered_without_error() -> None:
    """The bearer dependency is synchronous: FastAPI runs it on worker threads, side by side."""
    from concurrent.futures import ThreadPoolExecutor

    tokens = [issue_dev_token(SETTINGS, f"m-{n}", ["member"]) for n in range(40)]
    verifier = TokenVerifier(SETTINGS)
    verifier.KEPT = 16  # forgetting while others remember
    with ThreadPoolExecutor(max_workers=8) as pool:
        subs = list(pool.map(lambda t: verifier.verify(t).sub, tokens * 25))
    assert subs == [f"m-{n}" for n in range(40)] * 25
    assert len(verifier._verified) == 16
