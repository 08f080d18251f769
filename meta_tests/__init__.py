"""Mutation tests of the checker, for every twin (run by tests/test_meta.py; alone: python -m pytest meta_tests)."""
