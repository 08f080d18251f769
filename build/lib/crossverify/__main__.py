"""``python -m crossverify``: the crossverify command line."""
import sys

from crossverify.cli.main import main

sys.exit(main())
