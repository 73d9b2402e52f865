"""The portal's pages, one module per group (each a ``router()``)."""
