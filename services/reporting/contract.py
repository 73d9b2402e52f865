"""The results contract as documents: JSON Schema per event version, and AsyncAPI generated
by FastStream from a broker that declares the ``uzdik.results`` publishers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.reporting.events import registry
from shared.events import Event, Metadata

TOPIC = "uzdik.results"


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Literal["reporting"]
    global_position: int = Field(description="position in reporting's log")
    stream_id: str = Field(description="also the Kafka message key")
    stream_version: int
    metadata: Metadata
    prev_hash: str = Field(description="hash chain: sha256(prev_hash || canonical event)")
    hash: str


def message_model(cls: type[Event]) -> type[BaseModel]:
    """The Kafka message of one event type: the envelope with that event as payload."""
    fields: dict[str, Any] = {
        "event_type": (Literal[cls.event_type], ...),
        "schema_version": (Literal[cls.schema_version], ...),
        "payload": (cls, ...),
    }
    return create_model(
        f"{cls.event_type}Message", __base__=_Envelope, __doc__=cls.__doc__, **fields
    )


def json_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for cls in sorted(registry.types(), key=lambda c: c.event_type):
        schema = message_model(cls).model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = (
            f"https://uzdik.example/schemas/results/{cls.event_type}.v{cls.schema_version}.json"
        )
        out[f"{cls.event_type}.v{cls.schema_version}.schema.json"] = schema
    return out


def asyncapi() -> dict[str, Any]:
    from faststream.kafka import KafkaBroker
    from faststream.specification import AsyncAPI

    broker = KafkaBroker("kafka:9092", description="uzdik results for integrators")
    for cls in sorted(registry.types(), key=lambda c: c.event_type):
        broker.publisher(
            TOPIC,
            title=f"{TOPIC}:{cls.event_type}",
            schema=message_model(cls),
            description=(cls.__doc__ or "").strip(),
        )
    spec = AsyncAPI(
        broker,
        title="uzdik results",
        version="1.0.0",
        description=(__doc__ or "").strip(),
        schema_version="3.0.0",
    )
    return json.loads(spec.to_specification().to_json())  # type: ignore[no-any-return]


def write(docs: Path) -> list[Path]:
    written = []
    target = docs / "results"
    target.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        path = target / name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    path = docs / "asyncapi.json"
    path.write_text(json.dumps(asyncapi(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(path)
    return written
