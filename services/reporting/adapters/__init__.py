"""Reporting's adapters: the sources a replay reads the logs from."""
