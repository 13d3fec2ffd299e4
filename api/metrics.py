"""Prometheus metrics of one API app instance (own registry: two apps in one test never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "ApiMetrics"]


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ws_clients = Gauge("capmon_ws_clients", "Connected WebSocket clients", registry=r)
        self.ws_subscriptions = Gauge(
            "capmon_ws_subscriptions",
            "WebSocket subscriptions per scope (hospital and ward scopes counted by kind)",
            ["scope"],
            registry=r,
        )
        self.ws_messages_pushed = Counter(
            "capmon_ws_messages_pushed_total",
            "Frames sent to WebSocket clients",
            ["type"],
            registry=r,
        )
        self.ws_dropped_superseded = Counter(
            "capmon_ws_dropped_superseded_total",
            "Pending frames replaced by a newer value of the same key before being sent",
            registry=r,
        )
        self.ws_resyncs = Counter(
            "capmon_ws_resyncs_total",
            "Client buffers that overflowed and were resent snapshots instead",
            registry=r,
        )
        self.ws_closed = Counter(
            "capmon_ws_closed_total",
            "WebSocket connections closed by the server",
            ["reason"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "capmon_consumer_lag_messages",
            "Output-topic messages not yet read",
            ["topic"],
            registry=r,
        )
        self.consumer_messages = Counter(
            "capmon_consumer_messages_total",
            "Output-topic messages read",
            ["topic", "outcome"],
            registry=r,
        )
        self.caught_up = Gauge(
            "capmon_live_state_caught_up",
            "1 once the initial read of the output topics is done",
            registry=r,
        )
        self.live_keys = Gauge(
            "capmon_live_state_keys", "Keys held in the live state", ["kind"], registry=r
        )
        self.ingest_events = Counter(
            "capmon_ingest_events_total",
            "Events received over HTTP ingest by outcome and reason",
            ["outcome", "reason"],
            registry=r,
        )
        self.ingest_requests = Counter(
            "capmon_ingest_requests_total",
            "HTTP ingest requests by status",
            ["status"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "capmon_webhook_deliveries_total",
            "Webhook delivery attempts by outcome",
            ["outcome"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "capmon_http_request_seconds",
            "REST request duration by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
