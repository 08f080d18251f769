"""One run request: which twin and scenarios, variants, kernels, modes, epochs and audit a run covers,
built in one place (``RunRequest.build``, from the command line's options or from the public API
alike), validated once and passed down.

Kernels travel as :class:`Kernels`, a name that carries its array namespace
(python_impl/kernels.py) and the comparison rule its rows are held to, so that no module decides
anything by comparing a kernels name with a string.
"""
from dataclasses import dataclass

from crossverify.errors import CrossverifyError, UnknownNameError
from crossverify.twins.scenarios import list_scenarios, load_scenario
from crossverify.python_impl.kernels import KERNELS as NAMESPACES

# the kernels' names, the bit-for-bit ones first: `crossverify run`'s row order
NAMES = tuple(sorted(NAMESPACES, key=lambda name: not NAMESPACES[name].bit_for_bit))
MODES = ("lockstep", "free-running")
AUDITS = ("checkpoints", "full")


def check_name(kind, name, known):
    if name not in known:
        raise UnknownNameError(kind, name, known)
    return name


class Kernels(str):
    """A kernels choice: its name (it prints, sorts, compares and serialises as the name) with its
    array namespace and the comparison rule its rows are held to."""

    def __new__(cls, name):
        if isinstance(name, Kernels):
            return name
        check_name("kernels", name, NAMES)
        return super().__new__(cls, name)

    @property
    def namespace(self):
        return NAMESPACES[str(self)]

    @property
    def bit_for_bit(self):
        """True when these kernels do R's arithmetic, so that Python is held to R's bits."""
        return self.namespace.bit_for_bit

    def rule(self, session=None):
        """identical for bit-for-bit kernels, unless R's %*% takes a path they cannot reproduce (the
        session's matprod plan says so before the run: bridge/session/platform.py); within-bound otherwise."""
        exact = self.bit_for_bit and getattr(getattr(session, "matprod", None), "exact", True)
        return "identical" if exact else "within-bound"


KERNELS = tuple(Kernels(name) for name in NAMES)
# the kernels by what they do, for the modules that pick one: R's arithmetic (held to R's bits) and numpy's own
R_ARITHMETIC = next(k for k in KERNELS if k.bit_for_bit)
NUMPY_ARITHMETIC = next(k for k in KERNELS if not k.bit_for_bit)


def epochs_for(epochs, scenario):
    """The epochs a run takes: ``epochs`` when given (1 or more), else the scenario's own."""
    if epochs is None:
        return scenario.epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise CrossverifyError(f"--epochs {epochs}: the number of epochs must be 1 or more.")
    return epochs


@dataclass(frozen=True)
class RunRequest:
    """What one run covers, every name checked: loaded scenarios, and the variants (None: each
    twin's), kernels, modes, epochs (None: each scenario's own) and audit."""

    scenarios: tuple
    variants: tuple
    kernels: tuple
    modes: tuple
    epochs: int
    audit: str
    twin: object = None

    @classmethod
    def build(cls, scenarios=None, variants=None, kernels=None, modes=None, fixtures_dir=None, twin=None,
              epochs=None, audit="checkpoints"):
        check_name("audit", audit, AUDITS)
        ks = tuple(Kernels(k) for k in kernels) if kernels else KERNELS
        for m in modes or ():
            check_name("mode", m, MODES)
        # every input checked before the long part
        loaded = tuple(load_scenario(s, fixtures_dir, twin) for s in scenarios or list_scenarios(fixtures_dir))
        known = tuple(dict.fromkeys(v for s in loaded for v in s.twin.variants))
        for v in variants or ():
            check_name("variant", v, known)
        for s in loaded:
            epochs_for(epochs, s)
        return cls(loaded, tuple(variants) if variants else None, ks, tuple(modes) if modes else MODES, epochs,
                   audit, twin)

    def epochs_of(self, scenario):
        return epochs_for(self.epochs, scenario)

    def variants_of(self, scenario):
        """The variants this request runs on ``scenario``: the named ones the scenario's twin has, else all of its."""
        return tuple(v for v in scenario.twin.variants if not self.variants or v in self.variants)


@dataclass(frozen=True)
class OneRun:
    """One comparison's settings (trace, steps, predict, explain): a loaded scenario, the R variant
    (the twin's reference when none is named), the Python kernels (None only where the command
    chooses them, as explain does) and the epochs, the scenario's own applied here."""

    scenario: object
    variant: str
    kernels: object
    epochs: int
    mode: str = None

    @classmethod
    def build(cls, scenario, variant=None, kernels=R_ARITHMETIC, epochs=None, mode=None):
        twin = scenario.twin
        variant = check_name("variant", twin.reference if variant is None else variant, tuple(twin.variants))
        if mode is not None:
            check_name("mode", mode, MODES)
        return cls(scenario, variant, None if kernels is None else Kernels(kernels), epochs_for(epochs, scenario),
                   mode)
