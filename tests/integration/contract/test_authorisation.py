"""The authorisation matrix: every write operation of the OpenAPI documents × every role (own
region, another region), no token and a bad token, against the five services running
distributed (PostgreSQL + Kafka) with real resources to act on.

Who may do what is declared below (:data:`WHO`), read from each route's role check
(``act_as`` / ``authorise`` / ``authorised``). A refused cell must be a 401/403 problem+json
naming the rule, and append nothing to the service's event store; an allowed cell may still
fail for the state (404/409/422 or a domain 403 such as ``not_a_member``), never on the role
rules and never with a 5xx. A write operation the table does not declare fails the test."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import pytest
import sqlalchemy as sa

from demo.nominations.data import questionnaire
from services.nominations.domain import edition as editions
from services.nominations.domain.figures import default_edition_2020
from services.registry import SERVICES, spec
from shared.auth import issue_dev_token
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.store import idempotency, schema
from shared.territory import load_territory
from tests.conftest import _admin
from tests.harness import Distributed
from tests.integration.scoring.world import ORGANISER, Seat, World, admit_region, new_id

ROLES = (
    "organiser",
    "secretary",
    "member",
    "chair",
    "ethics",
    "operator",
    "auditor",
    "nominator",
    "integrator",
)
REGION, OTHER = "190000000", "110000000"
EDGE = {"role_not_allowed", "region_not_allowed", "commission_not_allowed"}
WRITES = {"post", "put", "patch", "delete"}
HOOK = "http://127.0.0.1:9/hooks/uzdik"  # nobody listens: deliveries fail and are retried


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    regional: bool = True  # the resource has a region: another region's token is refused
    commission: str = "regional"  # seated roles' claim: the regional or the Republican one
    public: bool = False  # no token needed
    agency: frozenset[str] = frozenset()  # roles refused with a region (the Agency's alone)


def rule(
    *roles: str, regional: bool = True, commission: str = "regional", agency: tuple[str, ...] = ()
) -> Rule:
    return Rule(frozenset(roles), regional, commission, agency=frozenset(agency))


ANYONE = Rule(frozenset(ROLES), regional=False)  # a valid token, whatever it says
SEATED_DECIDERS = rule("secretary", "chair")
WHO: dict[tuple[str, str, str], Rule] = {
    # nominations: editions (organiser, republic-wide); applications by their region
    ("nominations", "POST", "/v1/editions"): rule("organiser", regional=False),
    ("nominations", "POST", "/v1/editions/from-figures"): rule("organiser", regional=False),
    ("nominations", "POST", "/v1/editions/{edition_id}/deadline-extensions"): rule(
        "organiser", regional=False
    ),
    ("nominations", "POST", "/v1/applications"): rule("nominator", "secretary"),
    # scoring: the republic's trust in a region's deployment is the Agency's
    ("scoring", "PUT", "/v1/editions/{edition_id}/federation/regions/{region}"): rule(
        "organiser", regional=False, agency=("organiser",)
    ),
    ("nominations", "POST", "/v1/applications/{application_id}/admission-check"): rule("secretary"),
    (
        "nominations",
        "POST",
        "/v1/applications/{application_id}/questionnaire-score/confirmation",
    ): rule("secretary"),
    (
        "nominations",
        "POST",
        "/v1/applications/{application_id}/questionnaire-score/corrections",
    ): rule("secretary"),
    ("nominations", "POST", "/v1/applications/{application_id}/complaints"): rule("secretary"),
    ("nominations", "POST", "/v1/applications/{application_id}/withdrawal"): rule(
        "nominator", "secretary"
    ),
    ("nominations", "PUT", "/v1/applications/{application_id}/documents/{kind}"): rule(
        "nominator", "secretary"
    ),
    ("nominations", "POST", "/v1/applications/{application_id}/uploads"): rule(
        "nominator", "secretary"
    ),
    # an upload in progress and a draft are their owner's alone (404 to anyone else): the
    # role is checked, the region is the owner's
    ("nominations", "PATCH", "/v1/uploads/{upload_id}"): rule(
        "nominator", "secretary", regional=False
    ),
    ("nominations", "DELETE", "/v1/uploads/{upload_id}"): rule(
        "nominator", "secretary", regional=False
    ),
    ("nominations", "PUT", "/v1/application-drafts/{draft_id}"): rule(
        "nominator", "secretary", regional=False
    ),
    ("nominations", "DELETE", "/v1/application-drafts/{draft_id}"): rule(
        "nominator", "secretary", regional=False
    ),
    # scoring: the commission's region and, for seated roles, the token's commission claim
    ("scoring", "POST", "/v1/commissions"): rule("organiser"),
    ("scoring", "POST", "/v1/commissions/{commission_id}/replacements"): rule(
        "organiser", "secretary"
    ),
    ("scoring", "POST", "/v1/commissions/{commission_id}/recusals"): rule(
        "member", "chair", "secretary"
    ),
    ("scoring", "POST", "/v1/commissions/{commission_id}/stages/{stage}/close"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/commissions/{commission_id}/stages/{stage}/reopen"): rule(
        "chair", "organiser"
    ),
    ("scoring", "POST", "/v1/sittings"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/sittings/{sitting_id}/attendance"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/sittings/{sitting_id}/sheets"): rule("member", "chair"),
    ("scoring", "POST", "/v1/sittings/{sitting_id}/sheets/batch"): rule("member", "chair"),
    ("scoring", "POST", "/v1/sheets/{sheet_id}/corrections"): rule("member", "chair"),
    ("scoring", "POST", "/v1/sittings/{sitting_id}/protocol/signatures"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/protocols/verification"): ANYONE,  # checks; appends nothing
    ("scoring", "POST", "/v1/sittings/{sitting_id}/nominations"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/sittings/{sitting_id}/casting-votes"): rule("chair"),
    ("scoring", "POST", "/v1/sittings/{sitting_id}/regional-ranking"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/sittings/{sitting_id}/finalist"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/sittings/{sitting_id}/winners"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/sittings/{sitting_id}/no-finalist"): SEATED_DECIDERS,
    ("scoring", "POST", "/v1/commissions/{commission_id}/materials"): rule("secretary"),
    ("scoring", "POST", "/v1/candidates/{candidate_id}/ethics-results"): rule("ethics"),
    ("scoring", "POST", "/v1/candidates/{candidate_id}/feedback-assessments"): rule(
        "secretary", "chair", "member"
    ),
    # the Republican commission has no region; a region-scoped organiser is not the Agency
    ("scoring", "POST", "/v1/candidates/{candidate_id}/defences"): rule(
        "secretary", "organiser", regional=False, commission="republican", agency=("organiser",)
    ),
    # survey: by the survey's region
    ("survey", "POST", "/v1/surveys"): rule("organiser"),
    ("survey", "POST", "/v1/surveys/{survey_id}/responses"): Rule(
        frozenset(ROLES), regional=False, public=True
    ),
    ("survey", "POST", "/v1/surveys/{survey_id}/paper-imports"): rule("operator"),
    ("survey", "PUT", "/v1/surveys/{survey_id}/roll"): rule("organiser", "operator"),
    ("survey", "POST", "/v1/surveys/{survey_id}/closure"): rule("organiser"),
    ("survey", "POST", "/v1/survey-closures"): rule("organiser", regional=False),
    # notifications: recipients and integrators are not a region's; a person may also record
    # and erase their own contact (user:<sub>), which the matrix's bodies do not name
    ("notifications", "POST", "/v1/contacts"): rule("organiser", "secretary", regional=False),
    ("notifications", "POST", "/v1/contacts/{recipient}/erasure"): rule(
        "organiser", regional=False
    ),
    ("notifications", "POST", "/v1/notifications/{notification_id}/redelivery"): rule(
        "organiser", regional=False
    ),
    ("notifications", "POST", "/v1/webhooks/subscriptions"): rule(
        "organiser", "integrator", regional=False
    ),
    ("notifications", "POST", "/v1/webhooks/subscriptions/{subscription_id}/cancellation"): rule(
        "organiser", "integrator", regional=False
    ),
    ("notifications", "POST", "/v1/webhooks/subscriptions/{subscription_id}/redelivery"): rule(
        "organiser", "integrator", regional=False
    ),
    ("notifications", "POST", "/v1/ceremonies"): rule("organiser", regional=False),
}
SERVICE_ORDER = ("survey", "scoring", "nominations")  # nominations' commands feed the others


def write_operations() -> list[tuple[str, str, str]]:
    """Every write operation of the services' OpenAPI documents (built without I/O)."""
    found = []
    for service in SERVICES:
        app = ServiceRuntime(spec(service), Settings(), url="sqlite+aiosqlite:///:memory:").app
        for path, operations in app.openapi()["paths"].items():
            found += [(service, m.upper(), path) for m in operations if m in WRITES]
    return sorted(found, key=lambda o: SERVICE_ORDER.index(o[0]) if o[0] in SERVICE_ORDER else 9)


OPERATIONS = write_operations()
WHO_LABELS = [*ROLES, "no token", "bad token"]
CELLS = [
    pytest.param(op, who, where, id=f"{op[0]} {op[1]} {op[2]} | {who} | {where}")
    for op in OPERATIONS
    for who in WHO_LABELS
    for where in (("own", "other") if who in ROLES else ("-",))
]


def test_every_write_operation_is_declared() -> None:
    undeclared = [op for op in OPERATIONS if op not in WHO]
    assert not undeclared, f"declare in WHO who may do each of {undeclared}"


def expected(op: tuple[str, str, str], who: str, where: str) -> set[str] | None:
    """The codes a refusal may carry, or None when the cell is allowed."""
    found = WHO.get(op)
    assert found is not None, f"{op} is not declared in WHO"
    if who == "no token":
        return None if found.public else {"token_missing"}
    if who == "bad token":
        return None if found.public else {"token_invalid"}
    if who not in found.roles:
        return {"role_not_allowed"}
    if who in found.agency:  # every token of the matrix names a region
        return {"region_not_allowed"}
    if found.regional and where == "other":
        return {"region_not_allowed"}
    return None


# --- the world the cells act on ---------------------------------------------------------------


@dataclass
class Matrix:
    system: Distributed
    world: World
    seat: Seat
    republican: Seat
    candidate: str
    district: str
    rural: str
    sitting: str
    application: str
    survey: str
    nominating_edition: str
    subscription: str


@pytest.fixture(scope="module")
async def matrix(pg_admin_url: str, kafka_bootstrap: str) -> AsyncIterator[Matrix]:
    made: list[str] = []

    async def make() -> str:
        name = f"uzdik_t_{uuid.uuid4().hex[:12]}"
        await _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{pg_admin_url.rpartition('/')[0]}/{name}"

    async with Distributed(make, kafka_bootstrap, f"t{uuid.uuid4().hex[:10]}") as system:
        stores = {name: system.runtimes[name].store for name in SERVICES}
        world = World(system.clients, stores, system.settings)
        yield await build(system, world)
    for name in made:
        await _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def build(system: Distributed, world: World) -> Matrix:
    await world.announce()
    seat = await world.form(REGION)
    republican = await world.form(None)
    candidates = await admit_region(world, REGION, 1, 2)
    await world.registered(*candidates)
    sitting, _ = await world.sitting(seat, "stage1_selection")
    found = await world.candidate(candidates[0])
    registration = found.get("registration", found)
    district, rural = registration["district"], registration["rural_district"]
    now = datetime.now(UTC)
    survey = str(uuid.uuid4())
    opened = await system.clients["survey"].post(
        "/v1/surveys",
        json={
            "survey_id": survey,
            "edition_id": world.edition_id,
            "candidate_id": candidates[0],
            "settlement_kato": rural,
            "region_kato": REGION,
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=10)).isoformat(),
        },
        headers=world.bearer("organiser-1", ["organiser"], REGION),
    )
    assert opened.status_code == 201, opened.text
    edition = await nominating_edition(world, now)
    application = await submitted(system, world, edition, rural)
    subscription = await system.clients["notifications"].post(
        "/v1/webhooks/subscriptions",
        json={"integrator": "integrator-matrix", "url": HOOK, "event_types": ["*"]},
        headers=world.bearer("integrator-matrix", ["integrator"]),
    )
    assert subscription.status_code == 201, subscription.text
    await system.quiescent()
    return Matrix(
        system, world, seat, republican, candidates[0], district, rural, sitting, application,
        survey, edition, subscription.json()["subscription_id"],
    )  # fmt: skip


async def nominating_edition(world: World, now: datetime) -> str:
    """An edition whose application window is open now (nominations' own clock is real)."""
    edition_id = str(uuid.uuid4())
    command = default_edition_2020(edition_id)
    moved = {
        "announced_at": now - timedelta(days=2),
        "application_window_opens_at": now - timedelta(days=1),
        "application_window_closes_at": now + timedelta(days=5),
        "check_period_ends_at": now + timedelta(days=10),
        "stage_one_deadline": now + timedelta(days=20),
        "interviews_deadline": now + timedelta(days=30),
        "finalists_deadline": now + timedelta(days=30),
        "materials_deadline": now + timedelta(days=35),
        "defences_deadline": now + timedelta(days=40),
    }
    if "announcement_deadline" in type(command.calendar).model_fields:  # edition data since #13
        moved["announcement_deadline"] = now - timedelta(days=1)
    command = command.model_copy(update={"calendar": command.calendar.model_copy(update=moved)})
    events = editions.announce(None, command, ORGANISER)
    await world.stores["nominations"].append(f"edition-{edition_id}", None, events, ORGANISER)
    return edition_id


def annexes(rural: str) -> dict[str, Any]:
    unit = load_territory().find(rural)
    assert unit is not None
    return questionnaire(Random(7), unit, None)


async def submitted(system: Distributed, world: World, edition: str, rural: str) -> str:
    response = await system.clients["nominations"].post(
        "/v1/applications",
        json={"edition_id": edition, "questionnaire": annexes(rural)},
        headers=world.bearer(f"nominator-{REGION}", ["nominator"], REGION),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# --- one cell -----------------------------------------------------------------------------------


def subject(m: Matrix, op: tuple[str, str, str], role: str) -> tuple[str, str | None]:
    """The token's ``sub`` and ``commission`` claim for ``role`` on ``op``'s resource."""
    seat = m.republican if WHO[op].commission == "republican" else m.seat
    people = {"member": seat.members[1], "chair": seat.chair, "secretary": seat.secretary}
    if role in people and op[0] == "scoring":
        return people[role], seat.commission_id
    return f"{role}-matrix", None


def headers(m: Matrix, op: tuple[str, str, str], who: str, where: str) -> dict[str, str]:
    if who == "no token":
        return {}
    if who == "bad token":
        return {"Authorization": "Bearer not.a.token"}
    sub, commission = subject(m, op, who)
    region = REGION if where == "own" else OTHER
    token = issue_dev_token(m.world.settings, sub, [who], region=region, commission=commission)
    return {"Authorization": f"Bearer {token}"}


def request(m: Matrix, op: tuple[str, str, str]) -> tuple[str, dict[str, Any]]:
    """The operation's URL and a well-formed body that names the matrix's resources."""
    c, s = m.candidate, m.sitting
    reason = "the matrix asks"
    ids = {
        "edition_id": m.nominating_edition,
        "application_id": m.application,
        "kind": "project_presentation",
        "commission_id": m.seat.commission_id,
        "stage": "stage1_interview",
        "sitting_id": s,
        "sheet_id": new_id(),
        "upload_id": new_id(),
        "draft_id": new_id(),
        "candidate_id": c,
        "survey_id": m.survey,
        "recipient": "candidate:matrix",
        "notification_id": str(uuid.uuid4()),
        "subscription_id": m.subscription,
        "region": REGION,
    }
    sheet = {"candidate_id": c, "kind": "project", "scores": {}}
    bodies: dict[str, dict[str, Any]] = {
        "/v1/editions": {"json": default_edition_2020(str(uuid.uuid4())).model_dump(mode="json")},
        "/from-figures": {"json": {"title": "The matrix's edition"}},
        "/deadline-extensions": {
            "json": {
                "step": "application_window",
                "new_deadline": (datetime.now(UTC) + timedelta(days=6)).isoformat(),
                "reason": reason,
            }
        },
        "/v1/applications": {
            "json": {"edition_id": m.nominating_edition, "questionnaire": annexes(m.rural)}
        },
        "/corrections": {"json": {"items": [], "reason": reason}},
        "/withdrawal": {"json": {"reason": reason}},
        "/complaints": {"json": {"count": 1, "source": "the akimat's register"}},
        "/no-finalist": {"json": {"reason": reason}},
        "/materials": {"json": {"note": ""}},
        "/uploads": {"json": {"kind": "project_presentation", "filename": "p.pdf", "size": 9}},
        "/v1/uploads/{upload_id}": {
            "content": b"%PDF-1.4\n",
            "headers": {"Upload-Offset": "0", "content-type": "application/offset+octet-stream"},
        },
        "/v1/application-drafts/{draft_id}": {
            "json": {"edition_id": m.nominating_edition, "form": {"akim": "matrix"}}
        },
        "/documents/{kind}": {
            "content": b"%PDF-1.4\n%%EOF\n",
            "headers": {"content-type": "application/octet-stream"},
        },
        "/v1/commissions": {
            "json": {
                "commission_id": new_id(),
                "edition_id": m.world.edition_id,
                "level": "regional",
                "region": REGION,
                "members": [{"person_id": p, "name": "M"} for p in m.seat.members],
                "chair_id": m.seat.chair,
                "secretary": {"person_id": m.seat.secretary, "name": "S"},
            }
        },
        "/replacements": {
            "json": {
                "outgoing_id": m.seat.members[-2],
                "incoming": {"person_id": new_id(), "name": "N"},
                "reason": reason,
            }
        },
        "/recusals": {
            "json": {"candidate_id": c, "reason": reason, "member_id": m.seat.members[1]}
        },
        "/reopen": {"json": {"reason": reason}},
        "/v1/sittings": {
            "json": {
                "commission_id": m.seat.commission_id,
                "stage": "stage1_selection",
                "purpose": reason,
            }
        },
        "/attendance": {"json": {"present": m.seat.members}},
        "/sheets": {"json": sheet},
        "/sheets/batch": {"json": {"sheets": [sheet]}},
        "/v1/sheets/{sheet_id}/corrections": {
            "json": {"sitting_id": s, "scores": {}, "reason": reason}
        },
        "/signatures": {"json": {"digest": "0" * 64, "public_key": "AA", "signature": "AA"}},
        "/verification": {
            "json": {"document": {}, "signed": {"digest": "0" * 64, "signatures": []}}
        },
        "/nominations": {"json": {"district": m.district}},
        "/casting-votes": {"json": {"purpose": "nomination", "scope": m.district, "chosen": [c]}},
        "/finalist": {"json": {"candidate_id": c}},
        "/ethics-results": {"json": {"score": 1, "note": ""}},
        "/feedback-assessments": {"json": {"score": 1, "note": ""}},
        "/defences": {"json": {"title": reason, "budget_tenge": 1, "talk_seconds": 1}},
        "/v1/surveys": {
            "json": {
                "survey_id": str(uuid.uuid4()),
                "edition_id": m.world.edition_id,
                "candidate_id": c,
                "settlement_kato": m.rural,
                "region_kato": REGION,
                "opens_at": datetime.now(UTC).isoformat(),
                "closes_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
            }
        },
        "/responses": {"json": {"iin": "000000000000", "answers": [1]}},
        "/paper-imports": {"content": b"iin,a1\n", "headers": {"content-type": "text/csv"}},
        "/roll": {"json": {"residents": ["0" * 12]}},
        "/v1/contacts": {
            "json": {"recipient": "candidate:matrix", "email": "m@example.kz", "language": "ru"}
        },
        "/erasure": {"json": {"reason": reason}},
        "/notifications/{notification_id}/redelivery": {"json": {"reason": reason}},
        "/v1/webhooks/subscriptions": {
            "json": {"integrator": "integrator-matrix", "url": HOOK, "event_types": ["*"]}
        },
        "/subscriptions/{subscription_id}/redelivery": {"json": {"from_position": 0}},
        "/regions/{region}": {
            "json": {
                "issuer": "https://idp.example.kz/realms/region",
                "commission_id": m.seat.commission_id,
                "keys": [{"role": "chair", "person_id": m.seat.chair, "public_key": "11" * 32}],
            }
        },
        "/v1/ceremonies": {
            "json": {
                "commission_id": m.republican.commission_id,
                "at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                "place_kk": "Астана",
                "place_ru": "Астана",
            }
        },
    }
    path = op[2]
    url = path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in path})
    suffix = next((k for k in sorted(bodies, key=len, reverse=True) if path.endswith(k)), None)
    return url, dict(bodies[suffix]) if suffix else {}


async def written_by(m: Matrix, service: str, after: int, correlation: str) -> list[str]:
    """What the service stored for the request: events after position ``after`` under its
    correlation id, and an idempotency record under its key (the same value)."""
    t, d = schema.events.c, schema.documents.c
    store = m.system.runtimes[service].store
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(t.event_type, t.metadata).where(t.global_position > after)
        )
        keys = await conn.scalar(
            sa.select(sa.func.count()).where(
                d.model == idempotency.MODEL, d.key.endswith(f"|{correlation}")
            )
        )
    found = [
        r.event_type for r in rows if json.loads(r.metadata).get("correlation_id") == correlation
    ]
    return found + ["idempotency record"] * int(keys or 0)


@pytest.mark.parametrize(("op", "who", "where"), CELLS)
async def test_cell(matrix: Matrix, op: tuple[str, str, str], who: str, where: str) -> None:
    service, method, _ = op
    refused = expected(op, who, where)
    url, kwargs = request(matrix, op)
    correlation = str(uuid.uuid4())
    kwargs["headers"] = {
        **kwargs.get("headers", {}),
        **headers(matrix, op, who, where),
        "X-Correlation-ID": correlation,
        "Idempotency-Key": correlation,
    }
    store = matrix.system.runtimes[service].store
    before = await store.head()
    response = await matrix.system.clients[service].request(method, url, **kwargs)
    status, body = response.status_code, response.text
    assert status < 500, f"{status} {body}"
    if refused is None:
        code = response.json().get("code") if status == 403 else None
        assert status != 401 and code not in EDGE, f"allowed, yet {status} {body}"
        return
    assert status in (401, 403), f"expected a refusal ({refused}), got {status} {body}"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] in refused, body
    # The head stays where it was, but for events the service's consumers may append meanwhile
    # (under their own correlation ids): none after it is the request's, nor its idempotency key.
    written = await written_by(matrix, service, before, correlation)
    assert not written, f"a refused request wrote {written}"
