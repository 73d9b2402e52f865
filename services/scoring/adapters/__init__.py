"""The scoring service's I/O: the commission streams (with a state cache) and its lookups."""
