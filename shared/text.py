"""Text the services accept from a client, checked at the edge the same way on every database.

PostgreSQL refuses a NUL character in text (a 500 when it reaches the store) and SQLite keeps
it; a lone surrogate cannot be encoded at all. So the edge refuses them before any store sees
them, with one code, ``invalid_text`` (400):

* :class:`CheckedBody` — a request body's base: every string in it, nested models, lists and
  mapping keys included, holds no NUL, no control character other than tab, line feed and
  carriage return, and no lone surrogate;
* :data:`TEXT_CHECKED` — the same check for a body whose model is not a :class:`CheckedBody`
  (``body: Annotated[Model, TEXT_CHECKED]``);
* :data:`ClientId` — an id the client chooses: ``^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`` and no
  ``..`` (a UUID fits), code ``invalid_id``: it can always be addressed again in a path;
* :func:`control_in` — the single-line check the edge applies to paths and query strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
CLIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_CLIENT_ID = re.compile(CLIENT_ID)


def control_in(text: str) -> bool:
    """Whether ``text`` holds a control character (line breaks included) or a lone surrogate."""
    return _LINE_CONTROL.search(text) is not None


def _bad_text(value: object, where: str) -> str | None:
    """Where in ``value`` the first string with a forbidden character is, or None."""
    if isinstance(value, str):
        return where if _CONTROL.search(value) else None
    if isinstance(value, BaseModel):
        items: Any = ((name, getattr(value, name)) for name in type(value).model_fields)
    elif isinstance(value, Mapping):
        items = [(str(k), k) for k in value] + [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = ((str(i), item) for i, item in enumerate(value))
    else:
        return None
    for name, item in items:
        found = _bad_text(item, f"{where}.{name}" if where else str(name))
        if found is not None:
            return found
    return None


def checked(value: T) -> T:
    """``value`` when none of its strings holds a forbidden character; ``invalid_text``."""
    where = _bad_text(value, "")
    if where is not None:
        raise PydanticCustomError(
            "invalid_text",
            "text may not hold a NUL, a control character or a lone surrogate ({where})",
            {"where": where or "value"},
        )
    return value


TEXT_CHECKED = AfterValidator(checked)


class CheckedBody(BaseModel):
    """A request body whose strings are all :func:`checked` (see the module)."""

    @field_validator("*", mode="after")
    @classmethod
    def _checked_text(cls, value: Any) -> Any:
        return checked(value)


def _client_id(value: str) -> str:
    checked(value)  # a NUL is invalid_text wherever it is
    if not _CLIENT_ID.match(value) or ".." in value:
        raise PydanticCustomError(
            "invalid_id",
            "an id is 1-64 letters, digits, '_', '.' or '-', starting with a letter or a digit, "
            "without '..'",
        )
    return value


ClientId = Annotated[
    str,
    AfterValidator(_client_id),
    Field(json_schema_extra={"pattern": CLIENT_ID, "maxLength": 64}),
]
