"""The ``uzdik`` command line: serve, relay, migrate, token, demo, replay, audit, docs.

A mistake or an unreachable service ends in one line on stderr and an exit code (README,
"Exit codes"); a traceback only with ``--debug``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from pydantic import ValidationError

from services.cli.common import EXIT_BUG, EXIT_CONFIG, EXIT_USAGE, Refused, app, console

__all__ = ["app", "main"]

# the commands join the app as their modules load, in the order `uzdik --help` lists them
for _module in ("run", "tools", "audit", "protocol"):
    importlib.import_module(f"services.cli.{_module}")


def main() -> None:
    """The ``uzdik`` entry point: a person sees one line and an exit code, never a traceback
    unless ``--debug`` (or UZDIK_DEBUG=1) asks for it."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("UZDIK_DEBUG", "") not in ("", "0")
    try:
        app()
    except Refused as exc:
        _say(str(exc))
        sys.exit(exc.code)
    except ValidationError as exc:
        if debug:
            raise
        _say(f"configuration refused: {_settings_error(exc)}")
        sys.exit(EXIT_CONFIG)
    except KeyError as exc:  # services.registry.spec: an unknown service name
        if debug:
            raise
        _say(str(exc.args[0]) if exc.args else str(exc))
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        _say(INTERRUPTED)
        sys.exit(130)
    except SystemExit as exc:  # typer turns Ctrl-C into a silent exit 130
        if _interrupted(exc):
            _say(INTERRUPTED)
        raise
    except Exception as exc:
        if debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        _say(
            f"unexpected {type(exc).__name__}: {first}. Run `uzdik --debug "
            f"{' '.join(sys.argv[1:])}` for the traceback"
        )
        # tasks the failure left behind would print theirs at exit
        logging.getLogger("asyncio").disabled = True
        sys.exit(EXIT_BUG)


INTERRUPTED = "interrupted (Ctrl-C): stopped where it was; what it had written stays"


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` ends a chain that began with Ctrl-C."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


def _say(message: str) -> None:
    console.print(f"uzdik: error: {message}", highlight=False, markup=False, soft_wrap=True)


def _settings_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"UZDIK_{field.upper()}: {message}" if field else message)
    return "; ".join(parts)
