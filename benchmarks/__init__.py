"""asv suites for technic (see docs-bench.md)."""
