"""The event store: SQLAlchemy 2 (async) on PostgreSQL or SQLite."""

from shared.store.eventstore import EventStore, UnitOfWork, open_store
from shared.store.rendering import NewEvent
from shared.store.schema import metadata

__all__ = ["EventStore", "NewEvent", "UnitOfWork", "metadata", "open_store"]
