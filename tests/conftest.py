"""Shared fixtures. Integration fixtures (real Kafka and PostgreSQL) live in tests/fixtures/."""

# pytester: tests/stack checks the fixtures' own rules by running pytest inside pytest.
pytest_plugins = ["tests.fixtures.stack", "tests.fixtures.processes", "pytester"]
