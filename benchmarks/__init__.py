"""Throughput and accuracy benchmarks (run as scripts; see each module's docstring)."""
