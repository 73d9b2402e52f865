"""Every service's command handlers have the one call shape of :mod:`shared.handlers`:
``(uow, command, cause, *, deps)``, the cause a :class:`shared.handlers.Cause`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

import pytest

import services
from shared.handlers import Cause
from shared.store.eventstore import UnitOfWork

SERVICES = sorted(
    m.name
    for m in pkgutil.iter_modules(services.__path__)
    if m.ispkg and importlib.util.find_spec(f"services.{m.name}.handlers") is not None
)


def handlers_of(service: str) -> list[tuple[str, typing.Any]]:
    module = importlib.import_module(f"services.{service}.handlers")
    return [
        (name, fn)
        for name, fn in vars(module).items()
        if inspect.iscoroutinefunction(fn)
        and not name.startswith("_")
        and fn.__module__ == module.__name__
    ]


def test_every_service_has_its_handlers() -> None:
    assert {"nominations", "scoring", "survey", "notifications"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_handler_takes_the_unit_of_work_the_command_and_the_cause(service: str) -> None:
    found = handlers_of(service)
    assert found, f"services/{service}/handlers.py defines no handler"
    wrong = []
    for name, fn in found:
        params = list(inspect.signature(fn).parameters.values())
        hints = typing.get_type_hints(fn)
        head = [p.name for p in params[:3]]
        rest = [p for p in params[3:] if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if (
            head[:1] != ["uow"]
            or head[1:2] not in (["command"], ["commands"])
            or head[2:3] != ["cause"]
            or hints.get("uow") is not UnitOfWork
            or hints.get("cause") is not Cause
            or any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[:3])
            or rest
        ):
            wrong.append(f"{name}{inspect.signature(fn)}")
    assert not wrong, f"services/{service}/handlers.py: not (uow, command, cause, *, deps): {wrong}"
