"""Prometheus metrics every service exposes on /metrics."""

from prometheus_client import Counter, Gauge, Histogram

RELAY_BACKLOG = Gauge("uzdik_relay_backlog", "Events appended but not yet on Kafka", ["service"])
RELAY_PUBLISHED = Counter(
    "uzdik_relay_published_total", "Events the relay published to Kafka", ["service"]
)
RELAY_ERRORS = Counter("uzdik_relay_errors_total", "Failed relay publish attempts", ["service"])
CONSUMER_LAG = Gauge(
    "uzdik_consumer_lag", "Events in the source log not yet applied", ["consumer", "source"]
)
CONSUMER_APPLIED = Counter(
    "uzdik_consumer_applied_total", "Events applied by a consumer", ["consumer"]
)
CONSUMER_DUPLICATES = Counter(
    "uzdik_consumer_duplicates_total", "Redelivered events skipped", ["consumer"]
)
HTTP_REQUESTS = Histogram(
    "uzdik_http_request_seconds", "HTTP request latency", ["service", "method", "status"]
)
DEAD_LETTERS = Counter(
    "uzdik_consumer_dead_letters_total", "Events set aside after repeated failures", ["consumer"]
)
