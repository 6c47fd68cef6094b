"""Prometheus metrics of the server, exposed on KServe's /metrics (the default registry).

Every name starts with ``cogumi_server_``; docs/serving.md lists them for the dashboard.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)
TPS_BUCKETS = (1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280)

REQUEST_SECONDS = Histogram("cogumi_server_request_seconds", "End-to-end latency of an OpenAI request",
                            ("endpoint", "mode", "stream"), buckets=LATENCY_BUCKETS)
REQUESTS = Counter("cogumi_server_requests_total", "OpenAI requests by endpoint and HTTP status",
                   ("endpoint", "status"))
ERRORS = Counter("cogumi_server_errors_total", "Requests refused or failed, by OpenAI error type and code",
                 ("type", "code"))
IN_FLIGHT = Gauge("cogumi_server_requests_in_flight", "OpenAI requests being answered")
TOKENS_PER_SECOND = Histogram("cogumi_server_tokens_per_second", "Generated tokens per second of one generation",
                              ("modifier",), buckets=TPS_BUCKETS)
GENERATED_TOKENS = Counter("cogumi_server_generated_tokens_total", "Completion tokens generated", ("modifier",))
PROMPT_TOKENS = Counter("cogumi_server_prompt_tokens_total", "Prompt tokens evaluated", ("modifier",))
GENERATION_SECONDS = Counter("cogumi_server_generation_seconds_total", "Seconds spent generating", ("modifier",))
ROUTES = Counter("cogumi_server_routes_total", "Requests by the modifier that answered and how it was chosen",
                 ("domain", "source"))
ROUTER_CONFIDENCE = Histogram("cogumi_server_router_confidence", "Router confidence of routed requests",
                              buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0))
ESCALATIONS = Counter("cogumi_server_escalations_total", "Escalated requests by reason", ("reason",))
VOTES = Counter("cogumi_server_votes_total", "Self-consistency samples voted, by whether they agreed with the winner",
                ("agreed",))
VOTE_AGREEMENT = Histogram("cogumi_server_vote_agreement", "Share of samples that agreed with the majority answer",
                           buckets=(0.2, 0.4, 0.5, 0.6, 0.8, 0.99, 1.0))
CRITIQUES = Counter("cogumi_server_critiques_total", "Self-critique verdicts", ("verdict",))
MEMORY_TURNS = Histogram("cogumi_server_memory_turns", "Remembered exchanges prepended to a request",
                         buckets=(0, 1, 2, 3, 5, 10, 20, 50, 100))


def label(modifier: str | None) -> str:
    return modifier or "base"
