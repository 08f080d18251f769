"""Where crossverify keeps things: the one place that turns the package's location into paths.

Two layouts (setup.py): a checkout, where this file is bridge/paths.py and the R sources, the
shipped scenarios and the shipped twins are folders beside bridge/; and an installed copy, where
they are folders inside the ``crossverify`` package itself.
"""
import importlib.util
import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
INSTALLED = os.path.isdir(os.path.join(PACKAGE_DIR, "r_impl"))  # only a built wheel carries r_impl inside
PROJECT_ROOT = PACKAGE_DIR if INSTALLED else os.path.dirname(PACKAGE_DIR)
R_PACKAGE_DIR = os.path.join(PROJECT_ROOT, "r_impl")
SHIPPED_FIXTURES = os.path.join(PROJECT_ROOT, "fixtures")
# the article's twins: twins/ in a checkout, crossverify/shipped_twins/ when installed
SHIPPED_TWINS = os.path.dirname(importlib.util.find_spec("crossverify.shipped_twins").origin)
