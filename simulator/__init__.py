"""The hospital simulator: Sweden's wards publishing bed events, deterministically.

Layers, from pure to I/O:

- ``model`` (with ``profiles``, ``scenarios``, ``payloads``, ``bad_input``): a seeded
  discrete-event model of every ward; ``Simulation.advance(until)`` returns the events
  (``Emission``) that happened up to a simulated time. No clock, no I/O.
- ``ground_truth`` (with ``recount``): the exact ward states and rollups those events
  must produce, for end-to-end tests.
- ``encode``: events to Kafka message values (``EventBatch`` per hospital), with orjson.
- ``pacing`` and ``publish``: the simulated clock against the wall clock (speed, rate)
  and the sinks (Kafka, HTTP ingest, file).
- ``cli``: ``capmon simulate``.
"""
