"""``python -m bridge``: the crossverify command line."""
import sys

from .cli import main

sys.exit(main())
