"""The survey's adapters: the residents' responses written by group commit."""
