"""bench/moons.py runs and reports what it should: a quick smoke test of its JSON, not of its speed
(the timings of a 200-epoch run on a shared machine prove nothing, so no assertion reads them)."""
import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_moons_json_has_its_fields_and_the_exact_kernels_equal_r():
    proc = subprocess.run([sys.executable, os.path.join("bench", "moons.py"), "--epochs", "200", "--repeat", "1",
                           "--no-audit", "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    # exit 1 only says a speed target was missed, which this test does not judge
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["scenario"] == "detail-moons" and report["epochs"] == 200 and report["repeat"] == 1
    assert set(report["seconds"]) == {"r_loop", "python_float", "python_exact"}
    assert all(v > 0 for v in report["seconds"].values())
    assert {"ratio_exact_to_r", "ratio_float_to_r", "bench_peak_rss_mb", "targets", "pass"} <= set(report)
    assert report["exact_bit_identical_to_r"] is True, report["exact_check"]
    assert set(report["exact_check"]) == {"weights_input_hidden", "weights_hidden_output", "mean_error"}
    assert report["audit"] is None and "audit_peak_rss_mb" not in report["targets"]
    assert report["bench_peak_rss_mb"] > 0
