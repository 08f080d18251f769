"""The pytest plugin in a project that is not this one: a temporary folder with its own ini file, a
twin of its own (a copy of examples/power_iteration) and its own scenario folders, run by a child
pytest that finds the plugin through its ``pytest11`` entry point, as a user's suite would.

A scenario named to ``assert_twin_agrees`` is found in the twin's own scenarios/, then in the
folders of the ``crossverify_scenarios`` ini setting and the ``--crossverify-scenarios`` option;
without R, the ``crossverify_r`` fixture and the ``crossverify_needs_r`` marker skip, saying why,
and ``--crossverify-require-r`` makes those tests fail instead."""
import json
import os
import shutil

from tests.conftest import ROOT

pytest_plugins = ["pytester"]

POWER_ITERATION = os.path.join(ROOT, "examples", "power_iteration")


def foreign_project(root):
    """mytwin/ (with its own scenarios/spd-6), regression/spd-6-copy and extra/spd-6-extra: copies of
    spd-6 kept in folders of the project's own, each naming its twin by name and folder."""
    shutil.copytree(POWER_ITERATION, root / "mytwin", ignore=shutil.ignore_patterns("__pycache__"))
    manifest = json.loads((root / "mytwin" / "scenarios" / "spd-6" / "manifest.json").read_text())
    for folder, name in (("regression", "spd-6-copy"), ("extra", "spd-6-extra")):
        (root / folder / name).mkdir(parents=True)
        copy = dict(manifest, name=name, twin_folder=os.path.join("..", "mytwin"))
        (root / folder / name / "manifest.json").write_text(json.dumps(copy, indent=1))


USERS_TESTS = """
    import pathlib

    import pytest

    from crossverify.check.pytest_plugin import assert_twin_agrees

    TWIN = pathlib.Path(__file__).parent / "mytwin"

    def test_the_twins_own_scenario_is_found_without_fixtures(crossverify_r):
        row = assert_twin_agrees(TWIN, "spd-6", kernels="exact", epochs=5, session=crossverify_r)
        assert (row.scenario, row.expectation, row.epochs_checked) == ("spd-6", "identical", 5)

    def test_a_scenario_in_the_folder_the_ini_names_is_found(crossverify_r):
        row = assert_twin_agrees(TWIN, "spd-6-copy", kernels="float", epochs=5, session=crossverify_r)
        assert (row.scenario, row.expectation) == ("spd-6-copy", "within-bound")

    @pytest.mark.crossverify_needs_r
    def test_a_scenario_in_the_folder_the_option_names_is_found():
        assert assert_twin_agrees(TWIN, "spd-6-extra", epochs=5).scenario == "spd-6-extra"

    def test_an_unknown_scenario_names_the_closest_and_where_it_looked(crossverify_r):
        with pytest.raises(AssertionError) as err:  # a test failure on this line, not an error inside the plugin
            assert_twin_agrees(TWIN, "spd-7", session=crossverify_r)
        text = str(err.value)
        assert "did you mean 'spd-6'" in text and "regression" in text and "spd-6-copy" in text
"""


def test_a_foreign_project_finds_the_twins_own_scenarios_and_the_folders_its_ini_and_option_name(pytester):
    foreign_project(pytester.path)
    pytester.makeini("[pytest]\ncrossverify_scenarios =\n    regression\n")
    pytester.makepyfile(test_users=USERS_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--crossverify-scenarios", "extra")
    result.assert_outcomes(passed=4)


WITHOUT_R = """
    import pytest

    from crossverify.check.pytest_plugin import assert_twin_agrees

    def test_through_the_fixture(crossverify_r):
        assert_twin_agrees("bias_net", "bias-net", epochs=1, session=crossverify_r)

    @pytest.mark.crossverify_needs_r
    def test_through_the_marker():
        assert_twin_agrees("bias_net", "bias-net", epochs=1)

    def test_without_r_at_all():
        assert 1 + 1 == 2
"""


def test_without_r_the_fixture_and_the_marker_skip_saying_why_and_require_r_makes_them_fail(pytester, monkeypatch):
    # no R to be found: nothing on PATH (the child is started by the full path of this Python)
    monkeypatch.setenv("PATH", str(pytester.mkdir("empty-path")))
    monkeypatch.delenv("R_HOME", raising=False)
    pytester.makepyfile(test_users=WITHOUT_R)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=2)
    reasons = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert len(reasons) == 2 and all("this test needs R: R is not installed" in r for r in reasons), reasons
    strict = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--crossverify-require-r")
    strict.assert_outcomes(passed=1, errors=2)  # both fail in their set-up, before any R is asked for
    assert "crossverify_require_r is set: R is not installed" in strict.stdout.str()
