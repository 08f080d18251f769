"""Where this checkout keeps things: the one place that turns the package's location into paths."""
import os

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
R_PACKAGE_DIR = os.path.join(PROJECT_ROOT, "r_impl")
SHIPPED_FIXTURES = os.path.join(PROJECT_ROOT, "fixtures")
