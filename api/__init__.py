"""The HTTP/WebSocket face of capmon: live state from the output topics, REST, push, ingest.

Layout (one module per concept):

- ``live_state``: the latest ward state / rollup / alert per key, indexed by scope (pure).
- ``channels``: which push channels a message belongs to and what a role may subscribe to (pure).
- ``capacity``: the free-capacity search over the live state (pure).
- ``client_buffer``: a per-client latest-value-per-key send buffer (pure).
- ``topic_reader``: reads the output topics into the live state (Kafka edge).
- ``ws_hub``: the WebSocket endpoint and fan-out.
- ``auth`` / ``tokens``: bearer tokens (hashed in PostgreSQL), roles and their rules.
- ``ingest``: ``POST /api/v1/events``.
- ``webhooks``: signed alert deliveries to regions.
- ``history``: the adapter to the store's query functions.
- ``routes``: the REST routes; ``server``: the app factory and ``capmon api``.
"""
