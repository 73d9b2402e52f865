"""uzdik kernel: event envelope, event store, log transport, settings, logging, auth.

No competition rule lives here.
"""
