"""Which rpy2 series can embed which R: the one rule tools/setup.sh installs by and the start-up
check enforces.

* R < 4.5: rpy2 3.5 (>= 3.5.17). rpy2 3.6.7 and later call R 4.5's API (``R_getVar``) and stop
  at start-up on an older R with "undefined symbol" (docs/FACTS.md section 6; rpy2's NEWS for 3.6.7:
  "R >= 4.5.0 is required").
* R >= 4.5: rpy2 3.6. The 3.6 series is the one adapted to R 4.5 (rpy2's history: R 4.5.0 no
  longer exports ``initStdinHandler``, which rpy2 3.5.17 still declares). Whether rpy2 3.5 starts
  on R 4.5 has not been tried here, so it is not offered.
* R >= 4.6: rpy2 >= 3.6.7 (rpy2's NEWS: R 4.6.0 hides C functions that earlier 3.6 releases use).

Run as a script (``python3 bridge/session/versions.py "R version 4.2.2 ..."``) it prints the pip
requirement for that R, and with ``--fits RPY2_VERSION "R version ..."`` it exits 0 when that rpy2
fits; it imports nothing outside the standard library, so the set-up runs it before the virtual
environment exists.
"""
import re
import sys

RPY2_FOR_OLD_R = "rpy2>=3.5.17,<3.6"
RPY2_FOR_R_4_5 = "rpy2>=3.6,<3.7"
RPY2_FOR_R_4_6 = "rpy2>=3.6.7,<3.7"


def version_tuple(text):
    """(major, minor, patch) of the first version number in ``text``; () when there is none."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return ()
    return tuple(int(p) for p in match.groups(default="0"))


def rpy2_requirement(r_version):
    """The pip requirement of the rpy2 series that embeds R ``r_version``."""
    r = version_tuple(r_version)
    if r and r >= (4, 6):
        return RPY2_FOR_R_4_6
    if r and r >= (4, 5):
        return RPY2_FOR_R_4_5
    return RPY2_FOR_OLD_R


def series_fits(rpy2_version, r_version):
    """True when rpy2 ``rpy2_version`` belongs to the series rpy2_requirement gives for R
    ``r_version`` (the series, not the lowest release: an older 3.5 on an old R is let through)."""
    rpy2, r = version_tuple(rpy2_version), version_tuple(r_version)
    if not rpy2 or not r:
        return True  # nothing to judge by: let R's own start-up speak
    if r >= (4, 6):
        return (3, 6, 7) <= rpy2 < (3, 7)
    if r >= (4, 5):
        return (3, 6) <= rpy2 < (3, 7)
    return rpy2 < (3, 6)


if __name__ == "__main__":
    # versions.py "R version 4.2.2 ..."                 prints the requirement for that R
    # versions.py --fits RPY2_VERSION "R version ..."    exits 0 when that rpy2 fits that R
    if sys.argv[1:2] == ["--fits"]:
        sys.exit(0 if sys.argv[2:3] != [""] and series_fits(sys.argv[2], " ".join(sys.argv[3:])) else 1)
    print(rpy2_requirement(" ".join(sys.argv[1:])))
