"""The pytest plugin (bridge/check/pytest_plugin.py) as a user meets it: test files generated in a
temporary folder, run by a child pytest (R can be embedded only once per process, and this one
already has it), which finds the plugin through its ``pytest11`` entry point."""
import json
import os
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import numpy as np

from crossverify.paths import PROJECT_ROOT, SHIPPED_FIXTURES

pytest_plugins = ["pytester"]

PLUGIN = "crossverify.check.pytest_plugin"
SHIPPED_R = os.path.join(PROJECT_ROOT, "r_impl", "R", "bias_net.R")

# A twin whose Python side is the shipped one with one element of one intermediate moved by one
# ULP at epoch 3; its R side is the shipped R code, untouched.
BROKEN_EPOCH = '''
    """The shipped Python epoch, except output[1, 0] one ULP higher at epoch 3."""
    import numpy as np

    from crossverify.python_impl.bias_net import epoch as shipped_epoch

    calls = {"n": 0}


    def epoch(X, y, state, lr, xp):
        values = shipped_epoch(X, y, state, lr, xp)
        if getattr(xp, "name", None) == "exact":  # count real epochs, not the bound's traced one
            if calls["n"] == 3:
                output = values["output"].copy()
                output[1, 0] = np.nextafter(output[1, 0], np.inf)
                values["output"] = output
            calls["n"] += 1
        return values
'''

BROKEN_TWIN = '''
    """The shipped bias network's declaration, with the broken Python epoch of broken.py."""
    import dataclasses

    from crossverify.twins.protocol import RSide, load_twin

    shipped = load_twin("bias_net")
    TWIN = dataclasses.replace(
        shipped, name="broken_bias_net", python="broken.py:epoch", variants=None, reference=None,
        r=RSide(files=({r_file!r},), epoch=shipped.r.epoch, start=shipped.r.start), base_dir=None)
'''

# A twin whose Python side calls an operation the bound registry has no rule for (sine).
SINE_EPOCH = '''
    import numpy as np


    def epoch(X, state, lr):
        return {"v": np.sin(state["v"]) * lr + X}
'''

SINE_TWIN = '''
    from crossverify.twins.protocol import RSide, Step, Twin

    TWIN = Twin(name="sine", python="sine.py:epoch", r=RSide(files=("sine.R",), epoch="sine_epoch"),
                state=("v",), steps=[Step(1, "v", "v = sin(v) * lr + X")],
                data={"X": ("n", 1)}, init={"v": ("n", 1)}, hyper=("lr",))
'''

SINE_R = "sine_epoch <- function(X, state, lr) list(v = sin(state$v) * lr + X)\n"


def matrix(rows):
    return {"shape": [len(rows), len(rows[0])], "values": [[float(v).hex() for v in r] for r in rows]}


SINE_MANIFEST = {
    "format": "crossverify-scenario/1", "name": "sine-small", "twin": "sine",
    "hyper_parameters": {"lr": (0.5).hex(), "epochs": 10}, "provenance": {"note": "written by the test"},
    "data": {"X": matrix([[0.25], [0.5]])}, "init": {"v": matrix([[1.0], [2.0]])},
}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(textwrap.dedent(text).lstrip())


def write_broken_twin(root):
    """broken/twin.py, broken/broken.py and fixtures/bias-net (the shipped scenario, for this twin)."""
    twin_dir = os.path.join(root, "broken")
    write(os.path.join(twin_dir, "broken.py"), BROKEN_EPOCH)
    write(os.path.join(twin_dir, "twin.py"), BROKEN_TWIN.format(r_file=SHIPPED_R))
    with open(os.path.join(SHIPPED_FIXTURES, "bias-net", "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    manifest.pop("network")
    manifest["twin"] = "broken_bias_net"
    write(os.path.join(root, "fixtures", "bias-net", "manifest.json"), json.dumps(manifest, indent=1))
    return twin_dir, os.path.join(root, "fixtures")


def write_sine_twin(root):
    twin_dir = os.path.join(root, "sine")
    write(os.path.join(twin_dir, "sine.py"), SINE_EPOCH)
    write(os.path.join(twin_dir, "sine.R"), SINE_R)
    write(os.path.join(twin_dir, "twin.py"), SINE_TWIN)
    write(os.path.join(root, "fixtures", "sine-small", "manifest.json"), json.dumps(SINE_MANIFEST, indent=1))
    return twin_dir, os.path.join(root, "fixtures")


def test_the_plugin_is_registered_for_pytest_and_imports_neither_rpy2_nor_the_engine():
    assert any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    code = (f"import sys, {PLUGIN}; "
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('rpy2', 'numpy') or m.startswith('crossverify.twins')]; "
            "print(loaded); sys.exit(bool(loaded))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_users_test_of_a_shipped_twin_passes_through_the_fixture_and_the_assertion(pytester):
    pytester.makepyfile(test_user="""
        from crossverify.check.pytest_plugin import assert_twin_agrees

        def test_bias_net_is_bit_identical(crossverify_r):
            row = assert_twin_agrees("bias_net", "bias-net", kernels="exact", epochs=20, session=crossverify_r)
            assert row.expectation == "identical" and row.epochs_checked == 20

        def test_the_article_variant_differs_as_predicted():
            assert_twin_agrees("bias_net", "bias-net", variant="article", kernels="exact", epochs=5)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def section(text, test_name):
    """The part of pytest's report about one failed test (from its ____ header to the next)."""
    parts = re.split(r"^_{3,} (\S+) _{3,}$", text, flags=re.MULTILINE)
    found = dict(zip(parts[1::2], parts[2::2]))
    assert test_name in found, text
    return found[test_name]


def test_a_twin_one_ulp_off_fails_naming_where_in_decimal_hex_and_ulps(pytester):
    twin_dir, fixtures = write_broken_twin(str(pytester.path))
    pytester.makepyfile(test_user=f"""
        import dataclasses

        from crossverify.check.pytest_plugin import assert_twin_agrees
        from crossverify.twins.protocol import load_twin

        def test_broken_twin_is_bit_identical():
            assert_twin_agrees({twin_dir!r}, "bias-net", fixtures={fixtures!r}, kernels="exact", epochs=8)

        def test_a_variant_whose_r_is_another_variant_differs_as_predicted():
            shipped = load_twin("bias_net")
            article = dataclasses.replace(shipped.variants["article"], r_args={{"variant": "colsums-only"}})
            twin = dataclasses.replace(shipped, variants={{**shipped.variants, "article": article}})
            assert_twin_agrees(twin, "bias-net", variant="article", kernels="exact", epochs=5)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    # pytest shows the user's line; the plugin's frames are hidden
    assert "pytest_plugin.py" not in result.stdout.str() and "__tracebackhide__" not in result.stdout.str()
    text = section(result.stdout.str(), "test_broken_twin_is_bit_identical")
    assert "assert_twin_agrees(" in text
    for words in ("twin 'broken_bias_net'", "scenario 'bias-net'", "variant 'reference'", "kernels 'exact'",
                  "mode 'free-running'", "epoch 3, step 4, intermediate 'output', element [1, 0]", "1 ULP apart"):
        assert words in text, f"{words!r} missing from:\n{text}"
    # both values in decimal and hex, and Python's is the one moved up by one ULP
    values = {side: (float(dec), float.fromhex(hx)) for side, dec, hx in
              re.findall(r"^E\s+(python|r)\s+(\S+) \((\S+)\)$", text, re.MULTILINE)}
    assert set(values) == {"python", "r"}, text
    assert all(dec == hx for dec, hx in values.values())
    assert values["python"][0] == np.nextafter(values["r"][0], np.inf)
    # R running another variant than its model predicts: where R leaves the model, in ULPs
    text = section(result.stdout.str(), "test_a_variant_whose_r_is_another_variant_differs_as_predicted")
    assert "variant 'article'" in text and "expected differs-as-predicted" in text
    assert re.search(r"R departs from the Python model of R at epoch 0, step 11, intermediate 'bout', "
                     r"element \[0, 0\]:\nE\s+model-of-R .*\(0x.*\)\nE\s+r .*\(0x.*\)\nE\s+\d+ ULPs apart", text), text


def test_a_row_without_a_bound_rule_fails_with_its_reason_instead_of_passing(pytester):
    twin_dir, fixtures = write_sine_twin(str(pytester.path))
    pytester.makepyfile(test_user=f"""
        from crossverify.check.pytest_plugin import assert_twin_agrees

        def test_sine_within_bound():
            assert_twin_agrees({twin_dir!r}, "sine-small", fixtures={fixtures!r}, kernels="float", epochs=3)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "twin 'sine'" in text and "not checked" in text and "sin" in text and "cannot pass" in text
