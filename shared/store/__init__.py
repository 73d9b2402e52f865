"""The event store: SQLAlchemy 2 (async) on PostgreSQL or SQLite."""

from shared.store.eventstore import EventStore, NewEvent, UnitOfWork
from shared.store.schema import metadata

__all__ = ["EventStore", "NewEvent", "UnitOfWork", "metadata"]
