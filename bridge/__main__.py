"""``python -m bridge``: the crossverify command line."""
import sys

from bridge.cli.main import main

sys.exit(main())
