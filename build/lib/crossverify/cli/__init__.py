"""The command line: `crossverify` and `python -m crossverify` (bridge/cli/main.py), a module per sub-command."""
