"""Mutation tests of the checker (run by tests/test_mutations.py; alone: python -m pytest meta_tests)."""
