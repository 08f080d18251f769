"""The rpy2 bridge, the comparison engine and the ``crossverify`` command line."""
