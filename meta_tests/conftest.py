"""The project's fixtures (one embedded R per process), and the kill-rate summary at the end."""
from crossverify.check.mutants import RESULTS, catalogue
from tests.conftest import r_session  # noqa: F401 - the fixture shared with tests/


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write("twin       mutant                        lang   first divergence (exact kernels)                float bound")
    for r in RESULTS:
        where = "equivalent here: no bit changes" if r["expected"] is None else (
            "epoch {}, step {}, {}".format(*r["found"]) if r["found"] else "NOT CAUGHT")
        if r["lockstep"] and r["lockstep"] != r["found"]:
            where += " (lockstep: epoch {}, step {}, {})".format(*r["lockstep"])
        caught = {True: "catches", False: "slips under"}.get(r["float_caught"], "-")
        write(f"{r['twin']:<10} {r['name']:<29} {r['language']:<6} {where:<47} {caught}")
    killed = sum(1 for r in RESULTS if r["killed"])
    live = sum(1 for r in RESULTS if r["expected"] is not None)
    float_killed = sum(1 for r in RESULTS if r["float_caught"])
    write(f"MUTANTS: {killed} of {live} killed by the exact-kernel checks ({len(RESULTS) - live} equivalent here, "
          f"{len(catalogue())} in the catalogue); the float-kernel bound catches {float_killed}")
