"""Benchmarks (``make bench-*``): real PostgreSQL and Kafka, figures recorded in bench/README.md."""
