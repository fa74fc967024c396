"""Load and attack scenarios that both the benchmarks and the tests drive."""
