"""A twin of the slip gallery: slip_net.py beside this folder's slip_net.R, which makes the one slip
gallery.SLIPS names for this folder (docs/SLIPS.md shows what explain says of it)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gallery import declare  # noqa: E402

TWIN = declare(__file__)
