"""The pure core of stream processing: plain values in, plain values out, no I/O.

- ``config``: ``CoreConfig`` (lateness, buckets, alert hold and margin, pressure thresholds)
- ``ward_state``: one ward's state and ``apply(state, event)``; the ``WardState`` message
- ``buckets``: finalised patient-time and bed-time
- ``measures``: the additive vector and the measures computed from it (ratio of sums)
- ``rollup``: scope sums by replacement of each child's latest contribution
- ``pressure``: pressure levels 1-4
- ``alerts``: the alert state machine (pressure and stale rules)
- ``daily_snapshot``: the 06:00 Europe/Stockholm daily figure
- ``outputs``: what ``apply`` returns beside the state
"""
