"""Benchmarks of capmon against the real local stack; each script prints one JSON line per
figure, and ``bench.runner`` (``capmon bench``) runs them all and writes the results."""
