"""Shared fixtures. Integration fixtures (real Kafka and PostgreSQL) live in tests/fixtures/."""

pytest_plugins = ["tests.fixtures.stack"]
