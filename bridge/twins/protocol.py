"""The twin protocol: one declaration per Python/R pair, and the only place its names are listed.

A twin is a Python implementation and an R implementation of one iterative numerical algorithm
that expose the same named intermediates at every iteration (docs/TWINS.md). Its declaration is
a small Python module, ``twin.py``, that builds one :class:`Twin`::

    TWIN = Twin(
        name="power_iteration",
        python="power.py:iterate",              # file beside twin.py (or a module), then the function
        r=RSide(files=["power.R"], epoch="iterate"),
        state=("v",),                            # carried: iteration k+1 starts from k's intermediate "v"
        steps=[Step(1, "Av", "A v"), Step(2, "norm", "sqrt(sum(Av^2))"), Step(3, "v", "Av / norm")],
        data={"A": ("n", "n")}, init={"v": ("n", 1)}, hyper=("lr",),
    )

Both sides' functions are called with their arguments matched by name: each data matrix, each
hyper-parameter, each state entry, ``state`` (all of them: a dict in Python, a named list in R),
``xp`` (Python's array namespace, python_impl/kernels.py; a function without it is plain numpy,
python_impl/exactarray.py) and, in R, the variant's own arguments. Each returns every
intermediate by name. Everything else (fixture validation, the engine, bounds, steps, rosetta,
report, golden) reads the declaration.
"""
import functools
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass, field

from crossverify.errors import CrossverifyError, UnknownNameError
from crossverify.paths import SHIPPED_TWINS


class TwinError(CrossverifyError):
    """A twin declaration that cannot be used as it is."""

    def __init__(self, where, problem, fix="see docs/TWINS.md for the declaration's fields"):
        super().__init__(f"twin {where}: {problem}. To fix: {fix}.")


@dataclass(frozen=True)
class Step:
    """One intermediate: the step it belongs to, its name in both languages, its formula as text."""

    number: int
    name: str
    formula: str = ""
    title: str = ""


@dataclass(frozen=True)
class RSide:
    """The R implementation: files sourced into the session, the epoch function, and optional
    functions that build the starting state from the drawn one, prepare data or predict."""

    files: tuple
    epoch: str
    start: str = None
    predict: str = None


@dataclass(frozen=True)
class Variant:
    """One R variant: arguments passed to R's functions, and, when Python should not equal it, a
    Python model of what R computes (called like the Python epoch, plus ``variant``)."""

    r_args: dict = field(default_factory=dict)
    model: object = None  # callable epoch(..., variant) predicting R, or None
    model_start: object = None  # callable start(..., variant), or None (the Python start)
    description: str = ""


@dataclass(frozen=True)
class Preprocess:
    """A data preparation both sides implement (e.g. the moons normalisation): the Python and R
    functions (taking and returning the data matrices by name) and the stored shapes, which may
    differ from the declared ones (data stored one sample per row, transposed by the twin)."""

    python: object
    r: str
    stored: dict = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Printed:
    """A number the algorithm's source prints (an article, a paper), recomputed by both sides in
    ``crossverify reproduce``: intermediate ``name`` of ``scenario`` at ``epoch`` (counted from 0;
    -1 is the run's last), element ``index``, against the printed ``text``. ``expected`` is the
    status it must earn: "reproduced" (both sides print ``text``), "diverges-chaotically" (a
    1e-16 nudge of the first initial weight moves it and no reproduced number), or the status a
    ``judge`` ("file.py:function" or a callable, given by name python, r, text, index and the
    data and hyper-parameters) returns as (status, detail)."""

    scenario: str
    quantity: str
    name: str
    text: str
    epoch: int = 0
    index: tuple = (0, 0)
    expected: str = "reproduced"
    judge: object = None


@dataclass
class Twin:
    """A twin declaration, checked when it is built."""

    name: str
    python: object  # "file.py:function", "module:function" or a callable
    r: RSide
    state: tuple
    steps: tuple
    data: dict
    init: dict
    hyper: tuple = ("lr",)  # a learning rate, unless the twin says otherwise (hyper=())
    variants: dict = None
    reference: str = None
    python_start: object = None
    python_predict: object = None
    history: tuple = ()  # intermediates kept after every epoch besides the state
    preprocessing: dict = field(default_factory=dict)
    title: str = ""
    section: str = ""  # where the algorithm comes from (an article section, a textbook)
    titles: dict = field(default_factory=dict)  # step number -> its title, for teaching (steps, rosetta)
    inputs: dict = field(default_factory=dict)  # data/init name -> what it is ("X = input, one sample per row")
    input_steps: dict = field(default_factory=dict)  # step number -> the inputs shown at that step
    rosetta_key: str = None  # the key its source lines are marked with (# rosetta: KEY step)
    # Optional teaching hooks, read by `crossverify steps` and `crossverify rosetta` (callables or
    # "file.py:function"; each is called with the arguments it names, bridge/explain/steps.py):
    # explain_step(view, first, walk, epoch, variant, kernels, r_trace, python_trace, scenario) -> a sentence
    #   on why a step's cells differ (or how R lays an input out), or None for the generic one;
    # new_data(<data, hyper-parameters>, state, r_state, variant, preprocessing, scenario, r_call) -> dict
    #   with "data" (the new inputs by name) and optionally "r_state", "r_code", "description", "note"
    #   and "refused" (why R cannot score them): the prediction-on-new-data demonstration;
    # pitfalls: (title, sentence or a callable returning it, "tests/test_x.py::test_y") translation
    #   pitfalls, each with the test that shows it, listed by rosetta.
    explain_step: object = None
    new_data: object = None
    pitfalls: tuple = ()
    # Optional, read by report, reproduce and the mutation tests:
    # loss: the per-epoch loss the report plots: an intermediate (kept in history for long runs),
    #   or "file.py:function"/a callable taking intermediates by name (epochs first), one value per epoch;
    # printed: the numbers the algorithm's source prints (Printed), for `crossverify reproduce`;
    # mutants: "file.py:function" returning its deliberate defects (bridge/check/mutants.py Mutant);
    # questions: "module:function" returning the questions `crossverify questions` answers
    #   (bridge/explain/questions.py QuestionSet).
    loss: object = None
    printed: tuple = ()
    mutants: object = None
    questions: object = None
    base_dir: str = None  # the folder of twin.py; relative paths are resolved from it

    def __post_init__(self):
        where = repr(self.name)
        self.state, self.hyper, self.history = tuple(self.state), tuple(self.hyper), tuple(self.history)
        self.steps = tuple(s if isinstance(s, Step) else Step(*s) for s in self.steps)
        names = [s.name for s in self.steps]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise TwinError(where, f"intermediates listed twice in steps: {dup}")
        for s in self.state:
            if s not in names:
                raise TwinError(where, f"state {s!r} is not an intermediate of steps (the next iteration "
                                       f"starts from the intermediate of the same name)")
            if s not in self.init:
                raise TwinError(where, f"state {s!r} has no shape in init", "declare its shape in init")
        for h in self.history:
            if h not in names:
                raise TwinError(where, f"history {h!r} is not an intermediate of steps")
        if isinstance(self.loss, str) and ":" not in self.loss and self.loss not in names:
            raise TwinError(where, f"loss {self.loss!r} is neither an intermediate of steps nor 'file.py:function'")
        self.printed = tuple(self.printed)
        for p in self.printed:
            if not isinstance(p, Printed) or p.name not in names:
                raise TwinError(where, f"printed {p!r} is not a Printed(...) of an intermediate of steps")
        if self.variants is None:
            self.variants = {"reference": Variant()}
        self.variants = {k: (v if isinstance(v, Variant) else Variant(**v)) for k, v in self.variants.items()}
        if self.reference is None:
            self.reference = next(iter(self.variants))
        if self.reference not in self.variants:
            raise TwinError(where, f"reference variant {self.reference!r} is not one of {list(self.variants)}")
        for vname, v in self.variants.items():
            if vname != self.reference and v.model is None:
                raise TwinError(where, f"variant {vname!r} is not the reference and has no Python model of R",
                                "give it model=<callable> predicting what R computes, or drop it")
        clash = (set(self.data) | set(self.hyper)) & set(self.init)
        if clash:
            raise TwinError(where, f"names used both for data/hyper-parameters and initial state: {sorted(clash)}")
        if self.rosetta_key is None:
            self.rosetta_key = self.name.replace("_", "-")

    # -- names every other part derives from ----------------------------------------------------
    @property
    def names(self):
        return tuple(s.name for s in self.steps)

    @property
    def history_names(self):
        return tuple(dict.fromkeys(self.state + self.history))

    def step_of(self, name):
        return next(s.number for s in self.steps if s.name == name)

    def path(self, relative):
        return relative if os.path.isabs(relative) or self.base_dir is None else os.path.join(self.base_dir, relative)

    @property
    def r_files(self):
        return tuple(self.path(f) for f in self.r.files)

    # -- Python callables ------------------------------------------------------------------------
    def resolve(self, target, what):
        """A callable from ``target``: itself, "file.py:function" beside twin.py, or "module:function"."""
        if target is None or callable(target):
            return target
        module_name, _, func = str(target).partition(":")
        if not func:
            raise TwinError(repr(self.name), f"{what} {target!r} is not of the form 'file.py:function' or 'module:function'")
        if module_name.endswith(".py"):
            # the module's name carries its file's path: a copy of a twin elsewhere runs its own code
            path = os.path.abspath(self.path(module_name))
            module = _load_file(path, f"crossverify_twin_{self.name}_{os.path.basename(module_name)[:-3]}_"
                                      f"{hashlib.sha1(path.encode()).hexdigest()[:12]}",
                                self.name)
        else:
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise TwinError(repr(self.name), f"{what}: module {module_name!r} cannot be imported ({exc})") from None
        fn = getattr(module, func, None)
        if not callable(fn):
            raise TwinError(repr(self.name), f"{what}: {module_name} has no function {func!r}")
        return fn

    @property
    def python_epoch(self):
        return self.resolve(self.python, "python")


@functools.lru_cache(maxsize=None)
def _parameters(fn):
    """(name, required) of ``fn``'s named parameters, read once per function (an epoch runs thousands of times)."""
    return tuple((name, p.default is p.empty) for name, p in inspect.signature(fn).parameters.items()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def call_by_name(fn, available, what):
    """``fn`` called with each of its parameters taken by name from ``available``."""
    args, missing = {}, []
    for name, required in _parameters(fn):
        if name in available:
            args[name] = available[name]
        elif required:
            missing.append(name)
    if missing:
        raise TwinError(what, f"parameter(s) {missing} of {getattr(fn, '__name__', fn)} are neither data, "
                              f"hyper-parameters, state entries, 'state', 'xp' nor 'variant' "
                              f"(known: {sorted(available)})",
                        "name each parameter after a declared data matrix, state entry or hyper-parameter")
    return fn(**args)


def _load_file(path, module_name, twin_name):
    if not os.path.isfile(path):
        raise TwinError(repr(twin_name), f"{path} does not exist")
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    folder = os.path.dirname(os.path.abspath(path))
    added = folder not in sys.path
    if added:  # the twin's own helper modules import each other from its folder
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except CrossverifyError:
        sys.modules.pop(module_name, None)
        raise
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise TwinError(path, f"loading it raised {type(exc).__name__}: {exc}") from None
    finally:
        if added:
            sys.path.remove(folder)
    return module


# -- finding twins -------------------------------------------------------------------------------

DECLARATION = "twin.py"
_LOADED = {}


def load_twin(where):
    """The twin declared at ``where``: a folder holding twin.py, a twin.py file, or a shipped twin's name."""
    path = where
    if os.path.isdir(path):
        path = os.path.join(path, DECLARATION)
    elif not os.path.exists(path):
        shipped = shipped_twins()
        if where in shipped:
            path = shipped[where]
        else:
            raise UnknownNameError("twin", where, sorted(shipped))
    path = os.path.abspath(path)
    if path in _LOADED:
        return _LOADED[path]
    module = _load_file(path, f"crossverify_twin_decl_{hashlib.sha1(path.encode()).hexdigest()[:12]}", where)
    twin = getattr(module, "TWIN", None)
    if not isinstance(twin, Twin):
        raise TwinError(path, "defines no TWIN = Twin(...)", "see docs/TWINS.md")
    if twin.base_dir is None:
        twin.base_dir = os.path.dirname(path)
    _LOADED[path] = twin
    return twin


def shipped_twins():
    """Shipped twins by name: the folders of twins/ holding a twin.py (name = folder name)."""
    if not os.path.isdir(SHIPPED_TWINS):
        return {}
    return {d: os.path.join(SHIPPED_TWINS, d, DECLARATION) for d in sorted(os.listdir(SHIPPED_TWINS))
            if os.path.isfile(os.path.join(SHIPPED_TWINS, d, DECLARATION))}
