"""Every number an algorithm's source prints, recomputed in both languages (``crossverify reproduce``).

The numbers are declared by each twin (``Twin.printed``, a tuple of ``Printed``:
bridge/twins/protocol.py): the scenario, the intermediate, the epoch and element, the printed text
and the status the number must earn. The shipped twins declare the article's (docs/FACTS.md section 4)
in a printed.py beside their twin.py.

Each row has the printed text, Python's and R's values printed to the same digits, a status, and
the status it is expected to have:

* ``reproduced``: both languages print the text. Python here is the source's own arithmetic,
  plain numpy (float kernels); R is the twin's reference variant.
* ``diverges-chaotically``: the printed digits depend on rounding. The status is earned by a
  demonstration run here: the twin's first state matrix moved by 1e-16 at its first element
  (exact kernels, so the run is R's bit for bit) changes the printed value and none of the
  scenario's reproduced numbers.
* any other status is the verdict of the number's ``judge`` (e.g. ``unseeded-in-article``: a
  source whose run is unseeded, so ours is shown beside it and only the shape of the answer is
  required).
"""
import dataclasses
from dataclasses import dataclass

from crossverify.twins.protocol import call_by_name
from crossverify.twins.runner import network_for
from crossverify.twins.scenarios import list_scenarios, load_scenario
from crossverify.twins.request import NUMPY_ARITHMETIC, R_ARITHMETIC

NUDGE = 1e-16
REPRODUCED = "reproduced"
CHAOTIC = "diverges-chaotically"


@dataclass
class Quantity:
    scenario: str
    quantity: str
    article: str
    python: str
    r: str
    status: str
    expected: str
    detail: str = ""

    @property
    def ok(self):
        return self.status == self.expected

    def to_dict(self):
        return dict(self.__dict__, ok=self.ok)


def printed_like(value, text):
    """``value`` with as many decimals as the source printed in ``text``."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{value:.{decimals}f}"


def printed_numbers(scenario):
    """The numbers the scenario's twin declares for this scenario, in declaration order."""
    return [p for p in scenario.twin.printed if p.scenario == scenario.name]


def _epoch_of(p, scenario):
    return scenario.epochs + p.epoch if p.epoch < 0 else p.epoch  # -1: the run's last epoch


def _value(trace, name, epoch, index):
    """``name`` at ``epoch``, element ``index``: from the series kept after every epoch when it is
    one, else from the epochs whose intermediates were kept."""
    if name in trace.history:
        return float(trace.series(name)[epoch - trace.first_epoch][tuple(index)])
    return float(trace.at(epoch, name)[tuple(index)])


def nudged(scenario):
    """The scenario with its twin's first state matrix moved by NUDGE at element (0, 0), and
    (name, before, after)."""
    name = scenario.twin.state[0]
    init = {k: v.copy() for k, v in scenario.init.items()}
    before = float(init[name][0, 0])
    init[name][0, 0] = before + NUDGE
    return dataclasses.replace(scenario, init=init), (name, before, float(init[name][0, 0]))


class _Runs:
    """The traces one scenario's printed numbers are read from, each computed once."""

    def __init__(self, session, scenario, numbers):
        self.scenario, self.net = scenario, network_for(scenario)
        self.epochs = max(_epoch_of(p, scenario) for p in numbers) + 1
        history = self.net.twin.history_names
        # every intermediate kept only at the epochs a number needs one that is not a series
        self.record = sorted({_epoch_of(p, scenario) for p in numbers if p.name not in history})
        self.python = self.net.python(NUMPY_ARITHMETIC, self.epochs, record=self.record)
        self.r = self.net.r(session, self.net.reference_variant, self.epochs, record=self.record)
        self.exact = self.moved = self.where = None
        if any(p.expected == CHAOTIC for p in numbers):
            self.exact = self.net.python(R_ARITHMETIC, self.epochs, record=self.record)
            moved_scenario, self.where = nudged(scenario)
            self.moved = network_for(moved_scenario).python(R_ARITHMETIC, self.epochs, record=self.record)

    def printed(self, trace, p):
        return printed_like(_value(trace, p.name, _epoch_of(p, self.scenario), p.index), p.text)


def scenario_rows(session, scenario):
    """One Quantity per number the scenario's twin declares for it."""
    numbers = printed_numbers(scenario)
    if not numbers:
        return []
    runs = _Runs(session, scenario, numbers)
    demo = {p: (runs.printed(runs.exact, p), runs.printed(runs.moved, p)) for p in numbers} if runs.exact is not None else {}
    stable_rows = [p for p in numbers if p.expected == REPRODUCED]
    stable = all(demo[p][0] == demo[p][1] for p in stable_rows) if demo else True
    rows = []
    for p in numbers:
        ours = (runs.printed(runs.python, p), runs.printed(runs.r, p))
        if p.judge is not None:
            status, detail = _judge(p, scenario, runs)
        elif p.expected == CHAOTIC:
            changed = demo[p][0] != demo[p][1]
            status = CHAOTIC if (changed and stable and ours != (p.text, p.text)) else "unexplained"
            detail = _chaos_detail(runs.where, demo[p], stable_rows, stable, scenario)
        else:
            status = REPRODUCED if ours == (p.text, p.text) else "not-reproduced"
            detail = f"after the 1e-16 nudge: {demo[p][1]}" if demo else ""
        rows.append(Quantity(scenario.name, p.quantity, p.text, *ours, status, p.expected, detail))
    return rows


def _judge(p, scenario, runs):
    """The (status, detail) the number's own judge gives, called with what it names."""
    fn = scenario.twin.resolve(p.judge, "printed judge")
    epoch = _epoch_of(p, scenario)
    available = {**runs.net.data, **runs.net.hyper, "text": p.text, "index": tuple(p.index), "scenario": scenario,
                 "python": _value(runs.python, p.name, epoch, p.index), "r": _value(runs.r, p.name, epoch, p.index)}
    status, detail = call_by_name(fn, available, f"{scenario.twin.name!r} printed judge")
    return status, detail


def _chaos_detail(where, shown, stable_rows, stable, scenario):
    name, before, after = where
    epochs = sorted(_epoch_of(p, scenario) for p in stable_rows)
    span = f"epochs {epochs[0]}-{epochs[-1]}" if epochs else "no reproduced number"
    return (f"{name}[0, 0] moved from {before.hex()} to {after.hex()} (+1e-16): exact-kernel run prints "
            f"{shown[0]} -> {shown[1]}; {span} {'unchanged' if stable else 'CHANGED'}")


def reproduce(session, fixtures_dir=None, scenarios=None, twin=None, progress=None):
    """The rows of every scenario (default: all under ``fixtures_dir``) whose twin declares
    printed numbers for it; with ``twin``, the scenarios are that twin's."""
    names = scenarios or list_scenarios(fixtures_dir)
    loaded = [load_scenario(name, fixtures_dir, twin) for name in names]  # every input checked first
    rows = []
    for scenario in loaded:
        if printed_numbers(scenario):
            if progress:
                progress(f"{scenario.name}: the printed numbers")
            rows += scenario_rows(session, scenario)
    return rows
