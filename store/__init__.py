"""The history store: SQL migrations, the sink from the output topics, maintenance and queries.

Modules: ``migrate`` (``capmon migrate``), ``sink`` (``capmon sink``), ``maintenance``
(``capmon maintain``), ``queries`` (what the API serves from the database).
"""
