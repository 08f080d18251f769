"""Starting R and calling it: clear one-paragraph errors, never a traceback from inside rpy2."""
import os
import subprocess
import sys

import pytest

from crossverify.errors import RCallError
from crossverify.session.rsession import check_versions, explain_r_start_failure, installed_r_version, installed_rpy2_version
from crossverify.session.versions import rpy2_requirement
from tests.conftest import ROOT, run_cli


def _env(**changes):
    env = {k: v for k, v in os.environ.items() if k not in ("R_HOME",)}
    env.update(changes)
    return env


def test_missing_r_is_reported_with_the_install_command():
    # no R on PATH and no R_HOME: what a machine without R looks like to the bridge
    code, out, err = run_cli("run", env=_env(PATH=os.path.dirname(sys.executable)))
    assert code == 3 and out == ""
    assert "R is not installed" in err and "apt-get install -y r-base-core" in err
    assert "Traceback" not in err


def test_r_home_that_is_not_r_is_reported_before_r_can_end_the_process(tmp_path):
    code, _, err = run_cli("run", env=_env(R_HOME=str(tmp_path)))
    assert code == 3
    assert f"R_HOME is '{tmp_path}', which is not an R installation" in err and "Traceback" not in err


def test_rpy2_too_new_for_this_r_names_both_versions_and_the_pin():
    message = check_versions("3.6.9", "4.2.2")
    assert "rpy2 3.6.9 cannot load R 4.2.2" in message and "rpy2>=3.5.17,<3.6" in message


@pytest.mark.parametrize("r_version, requirement", [
    ("4.2.2", "rpy2>=3.5.17,<3.6"), ("R version 4.4.3 (2025-02-28)", "rpy2>=3.5.17,<3.6"),
    ("4.5.0", "rpy2>=3.6,<3.7"), ("R version 4.5.2 Patched", "rpy2>=3.6,<3.7"), ("4.6.0", "rpy2>=3.6.7,<3.7"),
])
def test_rpy2_series_follows_r_version(r_version, requirement):
    # the one rule (bridge/session/versions.py) that the set-up installs by and start-up enforces
    assert rpy2_requirement(r_version) == requirement
    script = subprocess.run([sys.executable, os.path.join(ROOT, "bridge", "session", "versions.py"), r_version],
                            capture_output=True, text=True, check=True)
    assert script.stdout.strip() == requirement  # tools/setup.sh runs it as a script


@pytest.mark.parametrize("rpy2_version, r_version, fits", [
    ("3.5.17", "4.2.2", True), ("3.6.9", "4.2.2", False), ("3.6.0", "4.4.3", False),
    ("3.6.2", "4.5.1", True), ("3.5.17", "4.5.0", False), ("3.6.6", "4.6.0", False), ("3.6.7", "4.6.0", True),
])
def test_start_up_check_follows_the_same_rule(rpy2_version, r_version, fits):
    message = check_versions(rpy2_version, r_version)
    assert (message is None) == fits
    if not fits:
        assert f"rpy2 {rpy2_version} cannot load R {r_version}" in message and rpy2_requirement(r_version) in message


def test_pyproject_allows_both_series_and_setup_constrains_by_r():
    with open(os.path.join(ROOT, "pyproject.toml")) as fh:
        assert '"rpy2>=3.5.17,<3.7"' in fh.read()
    with open(os.path.join(ROOT, "tools", "setup.sh")) as fh:
        setup = fh.read()
    assert "bridge/session/versions.py" in setup and "-c \"$VENV/rpy2-constraint.txt\"" in setup


def test_rpy2_start_up_symbol_error_is_explained():
    # the text rpy2 3.6 raises on R 4.2 (docs/FACTS.md section 6)
    exc = OSError("cannot load library '/usr/lib/R/lib/libR.so': undefined symbol: R_getVar")
    message = explain_r_start_failure(exc, "3.6.9", "4.2.2")
    assert "rpy2 3.6.9 cannot load R 4.2.2" in message and "R_getVar" in message and "<3.6" in message


def test_installed_pair_is_accepted():
    assert installed_rpy2_version() and installed_r_version()
    assert check_versions(installed_rpy2_version(), installed_r_version()) is None


def test_r_errors_arrive_with_r_own_message(r_session):
    with pytest.raises(RCallError, match="unknown variant 'colsums': choose one of article, corrected"):
        r_session.call("variant_switches", "colsums")


def test_non_conformable_matrices_raise_r_message_not_an_rpy2_traceback(r_session):
    with pytest.raises(RCallError, match="non-conformable"):
        r_session.call("hidden_linear", r_session.to_r([[1.0, 2.0]]), r_session.to_r([[1.0, 2.0]]),
                       r_session.to_r([[0.0]]))
