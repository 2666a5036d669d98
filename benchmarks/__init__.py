"""asv suites for technic (see docs/harness.md)."""
