"""The command line: `crossverify` and `python -m bridge` (bridge/cli/main.py), a module per sub-command."""
