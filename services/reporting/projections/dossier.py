"""Applications and candidates' dossiers: everything the log says about one akim."""

from __future__ import annotations

from typing import Any

from services.reporting.projections import Doc, Target, on


def _name(akim: dict[str, Any]) -> str:
    parts = (akim.get("surname"), akim.get("given_name"), akim.get("patronymic"))
    return " ".join(p for p in parts if p)


def _update(**fields: Any) -> Any:
    def fold(doc: Doc | None, event: Doc) -> Doc:
        return {**(doc or {}), **{k: v(event) if callable(v) else v for k, v in fields.items()}}

    return fold


def _history(doc: Doc | None, event: Doc) -> list[Any]:
    """Ordered by (service, position): the same whatever order the topics interleave in."""
    entry = [
        event["service"],
        event["global_position"],
        event["event_type"],
        event["metadata"]["occurred_at"],
        event["metadata"]["actor"],
    ]
    return sorted([*(doc or {}).get("history", []), entry], key=lambda h: (h[0], h[1]))


def _application(doc: Doc | None, event: Doc, **fields: Any) -> Doc:
    return {**(doc or {}), **fields, "history": _history(doc, event)}


@on("ApplicationSubmitted")
def submitted(event: Doc) -> list[Target]:
    p = event["payload"]
    q = p["questionnaire"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return _application(
            doc,
            e,
            application_id=p["application_id"],
            edition_id=p["edition_id"],
            region=p["region_kato"],
            district=p["district_kato"],
            rural_district=p["rural_district_kato"],
            akim=_name(q["akim"]),
            nominator=q["nominator"],
            status="submitted",
            submitted_at=p["submitted_at"],
            appointed_akim_on=q.get("appointed_akim_on"),
            documents={},
            errors=[],
        )

    return [Target("applications", p["application_id"], fold)]


@on("DocumentAttached")
def document(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        docs = {
            **(doc or {}).get("documents", {}),
            p["kind"]: {
                "sha256": p["sha256"],
                "size_bytes": p["size_bytes"],
                "media_type": p["media_type"],
                "duration_seconds": p.get("duration_seconds"),
            },
        }
        return _application(doc, e, documents=docs)

    return [Target("applications", p["application_id"], fold)]


@on("JustifiedComplaintsRecorded")
def complaints(event: Doc) -> list[Target]:
    """§12 tie-break (4): the secretary's latest figure and its source (absent: unknown)."""
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        recorded = {"count": p["count"], "source": p["source"]}
        return _application(doc, e, justified_complaints=recorded)

    return [Target("applications", p["application_id"], fold)]


@on("ApplicationAdmitted", "ApplicationRejected", "ApplicationWithdrawn")
def decided(event: Doc) -> list[Target]:
    p = event["payload"]
    status = {
        "ApplicationAdmitted": "admitted",
        "ApplicationRejected": "rejected",
        "ApplicationWithdrawn": "withdrawn",
    }[event["event_type"]]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return _application(doc, e, status=status, errors=p.get("errors", []))

    return [Target("applications", p["application_id"], fold)]


@on("QuestionnaireScored", "QuestionnaireScoreCorrected", "QuestionnaireScoreConfirmed")
def questionnaire(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        if e["event_type"] == "QuestionnaireScoreConfirmed":
            return _application(
                doc, e, questionnaire_confirmed=True, questionnaire_total=p["total"]
            )
        score = p["score"]
        return _application(
            doc,
            e,
            questionnaire_total=score["total"],
            questionnaire_breakdown=score,
            questionnaire_confirmed=False,
        )

    return [Target("applications", p["application_id"], fold)]


@on("CandidateRegistered")
def candidate(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            **(doc or {}),
            **p,
            "stage": "stage1_selection",
            "nominated": False,
            "survey": (doc or {}).get("survey"),
            "history": _history(doc, e),
        }

    return [Target("candidates", p["candidate_id"], fold)]


FACTS: dict[str, Any] = {
    "CandidateNominated": lambda p: {
        "nominated": True,
        "stage1_points": p.get("points"),
        "stage1_rank": p.get("rank"),
        "nomination_basis": p.get("basis"),
    },
    "FinalistSelected": lambda p: {
        "finalist": True,
        "regional_total": p.get("regional_total"),
        "regional_components": p.get("components"),
    },
    "SurveyResultReceived": lambda p: {
        "survey": {k: p.get(k) for k in ("responses", "mean_total", "mean_per_criterion")}
    },
    "EthicsResultRecorded": lambda p: {"ethics_score": p.get("score")},
    "CandidateComplaintsRecorded": lambda p: {
        "justified_complaints": p.get("justified_complaints"),
        "complaints_source": p.get("source"),
    },
    "FeedbackAssessmentRecorded": lambda p: {"feedback_score": p.get("score")},
    "ProjectDefenceRegistered": lambda p: {
        "defence": {k: p.get(k) for k in ("title", "budget_tenge", "talk_seconds", "mode")}
    },
}


@on(
    "CandidateNominated",
    "FinalistSelected",
    "SurveyResultReceived",
    "EthicsResultRecorded",
    "CandidateComplaintsRecorded",
    "FeedbackAssessmentRecorded",
    "ProjectDefenceRegistered",
)
def candidate_fact(event: Doc) -> list[Target]:
    p, kind = event["payload"], event["event_type"]
    fields: dict[str, Any] = FACTS[kind](p)

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            **(doc or {}),
            **fields,
            "candidate_id": p["candidate_id"],
            "history": _history(doc, e),
        }

    return [Target("candidates", p["candidate_id"], fold)]
