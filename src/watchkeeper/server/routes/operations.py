"""What operators and their tools ask of a running server.

GET /healthz     liveness and the database
GET /metrics     Prometheus
"""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from watchkeeper import __version__
from watchkeeper.errors import Refused
from watchkeeper.server.auth import service_of

router = APIRouter()


@dataclasses.dataclass(frozen=True)
class Metrics:
    """The server's Prometheus metrics, in a registry of their own."""

    registry: CollectorRegistry
    decisions: Counter
    latency: Histogram
    waits: Gauge

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry()
        return cls(
            registry,
            Counter(
                "watchkeeper_decisions",
                "Decisions made, by outcome.",
                ["decision"],
                registry=registry,
            ),
            Histogram(
                "watchkeeper_decision_seconds",
                "Time to decide and record one action.",
                registry=registry,
                buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            ),
            Gauge("watchkeeper_waits_open", "Approval waits held open now.", registry=registry),
        )


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    service = service_of(request)
    try:  # on the kill switch's threads: a busy server still says whether it lives
        await anyio.to_thread.run_sync(
            service.database_answers, limiter=request.app.state.kill_switch
        )
    except Exception as exc:
        raise Refused("unavailable", f"the database does not answer: {exc}") from None
    return {"status": "ok", "version": __version__, "orders": service.orders.digest}


@router.get("/metrics")
def prometheus(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
