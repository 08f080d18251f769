"""One twin on one scenario: Python and R traces (whole runs or chunks), lockstep traces, the
Python model of a non-reference R variant, and the bound expressions derived from the code.

Everything here reads the twin's declaration (bridge/twins/protocol.py); nothing names a twin.
"""
import functools
import os
import traceback

import numpy as np

from crossverify.errors import CrossverifyError
from crossverify.twins.tracing import Params, derive_spec, trace_epoch
from crossverify.twins.protocol import _parameters, call_by_name
from crossverify.twins.request import NUMPY_ARITHMETIC, epochs_for
from crossverify.python_impl.exactarray import NotNumpyError, unwrap, wrap
from crossverify.python_impl.kernels import get_kernels
from crossverify.python_impl.trace import Trace, run_epochs, run_lockstep

# A run keeps every intermediate of every epoch while that is at most this many numbers
# (16 MB); longer runs keep them at every CHECKPOINT_EVERY-th epoch and the last, and the
# state and history series after every epoch.
KEEP_ALL_LIMIT = 2_000_000
CHECKPOINT_EVERY = 1000


def _r_dict(session, obj):
    return {k: session.from_r(v) for k, v in zip(obj.names, obj)}


class TwinCodeError(CrossverifyError):
    """A twin's own Python code failed: one paragraph naming the twin, the line and what to do.
    ``not_numpy``: the code left numpy (math.exp, scipy), which the exact rows still run through."""

    not_numpy = False


def _twin_line(exc):
    """"file:line: source" of the innermost frame of ``exc``'s traceback outside numpy and crossverify."""
    skip = (os.path.dirname(np.__file__), "site-packages", os.path.join("bridge", "check"),
            os.path.join("bridge", "twins"), "python_impl" + os.sep + "exactarray")
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not any(s in frame.filename for s in skip):
            return f"{os.path.basename(frame.filename)}:{frame.lineno}: {frame.line}"
    return None


def code_error(twin_name, exc, side="python"):
    """The one-paragraph message for an exception raised by a twin's Python code."""
    if isinstance(exc, NotNumpyError):
        err = TwinCodeError(f"twin {twin_name!r}, {side} side: {exc}.")
        err.not_numpy = True
        return err
    where = _twin_line(exc)
    fix = ("every intermediate is a numpy array computed with numpy functions, operators, methods and "
           "indexing (docs/TWINS.md lists what is supported)")
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        fix = ("make the shapes agree: check each operand's shape (a transposed matrix, a 1-d array where an "
               "n x 1 column was meant)")
    return TwinCodeError(f"twin {twin_name!r}, {side} side: {type(exc).__name__}: {exc}"
                         f"{' at ' + where if where else ''}. To fix: {fix}.")


@functools.lru_cache(maxsize=None)
def _plain_numpy(fn):
    """A Python epoch without an ``xp`` parameter is plain numpy (read once per function)."""
    return "xp" not in dict(_parameters(fn))


def _exact_arrays(values):
    """Values by name as ExactArray: plain numpy code on them computes with R's arithmetic."""
    return {k: wrap(np.asarray(v)) for k, v in values.items()}


def _steps_from_r(session, obj):
    """R arrays with the epoch last (dim c(rows, cols, epochs)) as numpy arrays with it first."""
    return {k: np.ascontiguousarray(np.moveaxis(v, -1, 0)) for k, v in _r_dict(session, obj).items()}


class TwinRun:
    """A twin and a scenario (bridge/twins/scenarios.py), ready to run on either side."""

    def __init__(self, twin, scenario):
        self.twin = twin
        self.scenario = scenario
        self.name = twin.name
        self.variants = tuple(twin.variants)
        self.reference_variant = twin.reference
        self.weights = twin.state
        self.hyper = {k: scenario.hyper[k] for k in twin.hyper}
        self.data = self._prepare(scenario.data)
        self._r_data = None
        self._specs = {}
        self._shapes = {}

    # data as both sides see it --------------------------------------------------------------------
    def _prepare(self, raw):
        step = self.twin.preprocessing.get(self.scenario.preprocessing)
        if step is None:
            return dict(raw)
        fn = self.twin.resolve(step.python, "preprocessing")
        prepared = call_by_name(fn, dict(raw), f"{self.name!r} preprocessing")
        return {**raw, **prepared}

    def __getattr__(self, name):  # the data matrices by name (run.X)
        data = self.__dict__.get("data")
        if data is not None and name in data:
            return data[name]
        raise AttributeError(name)

    def fixed(self, variant=None):
        """What both sides share: the prepared data and the hyper-parameters (bound leaves)."""
        return {**self.data, **self.hyper}

    # record policy --------------------------------------------------------------------------------
    def checkpoints(self, epochs=None):
        """None (every epoch) when a whole run's intermediates are small; else every
        CHECKPOINT_EVERY-th epoch and the last. The size is estimated from the declaration alone
        (steps x the largest input matrix), so a malformed scenario reaches the side that refuses it."""
        n = epochs_for(epochs, self.scenario)
        largest = max(np.size(v) for v in list(self.scenario.data.values()) + list(self.scenario.init.values()))
        if n * len(self.twin.steps) * largest <= KEEP_ALL_LIMIT:
            return None
        return sorted(set(range(0, n, CHECKPOINT_EVERY)) | {n - 1})

    # Python --------------------------------------------------------------------------------------
    def _available(self, data, hyper, state, xp, variant=None):
        # each state entry by its own name too: epoch(X, Y, W, b, lr) as well as epoch(X, state, xp)
        out = {**state, **data, **hyper, "state": state, "xp": xp}
        if variant is not None:
            out["variant"] = variant
        return out

    def python_epoch(self, state, xp, fn=None, variant=None, data=None, hyper=None):
        """One epoch of the Python side. A function without an ``xp`` parameter is plain numpy: with
        the exact kernels its arrays are ExactArray (python_impl/exactarray.py), so numpy's dispatch
        hands every operation to R's arithmetic; with the float kernels they are numpy's own."""
        fn = fn or self.twin.python_epoch
        plain = _plain_numpy(fn)
        data, hyper = data or self.data, hyper or self.hyper
        exact = plain and getattr(xp, "bit_for_bit", False)  # R's arithmetic: ExactArray
        if plain and getattr(xp, "name", None) != "tracing":
            # numpy code may update its state in place (W -= lr * g): never the recorded matrices
            state = {k: np.array(v, dtype=np.float64, copy=True) for k, v in state.items()}
        if exact:
            data, hyper, state = map(_exact_arrays, (data, hyper, state))
        try:
            values = call_by_name(fn, self._available(data, hyper, state, xp, variant), f"{self.name!r} python")
        except CrossverifyError:
            raise
        except Exception as exc:
            raise code_error(self.name, exc) from None
        return self._outputs(values, exact) if plain else values  # the xp form returns its dict as it always did

    def _outputs(self, values, exact):
        """The epoch's intermediates by name, as plain arrays."""
        if isinstance(values, (tuple, list)) and len(values) == len(self.twin.names):
            values = dict(zip(self.twin.names, values))  # returned in the order of the declared steps
        if not isinstance(values, dict):
            raise TwinCodeError(f"twin {self.name!r}, python side: the epoch returned a {type(values).__name__}. "
                                f"To fix: return every intermediate by name, a dict with the keys "
                                f"{', '.join(self.twin.names)} (or a tuple in that order).")
        missing = [n for n in self.twin.names if n not in values]
        if missing:
            raise TwinCodeError(f"twin {self.name!r}, python side: the epoch returned no {', '.join(missing)} "
                                f"(it returned {', '.join(map(str, values)) or 'nothing'}). To fix: return every "
                                f"intermediate of the declaration's steps by name.")
        return {k: np.asarray(unwrap(v)) for k, v in values.items()} if exact else values

    def python_start(self, variant=None):
        start = self.twin.resolve(self.twin.python_start, "python_start")
        if variant is not None and variant != self.reference_variant:
            model_start = self.twin.variants[variant].model_start
            start = self.twin.resolve(model_start, "model_start") or start
        if start is None:
            return dict(self.scenario.init)
        return call_by_name(start, self._available(self.data, self.hyper, dict(self.scenario.init), None, variant),
                            f"{self.name!r} start")

    def epoch_fn(self, kernels, variant=None):
        """state -> one epoch's intermediates: the twin's Python epoch, or the model of R's ``variant``."""
        xp = get_kernels(kernels) if isinstance(kernels, str) else kernels
        model = None
        if variant is not None and variant != self.reference_variant:
            model = self.twin.resolve(self.twin.variants[variant].model, "model")
        fn = model or self.twin.python_epoch  # resolved once, not every epoch
        return lambda state: self.python_epoch(state, xp, fn=fn, variant=variant if model else None)

    def python(self, kernels, epochs, record=None, start=None, first_epoch=0):
        return run_epochs(self.epoch_fn(kernels), start or self.python_start(), epochs, self.twin.names,
                          self.weights, init=self.scenario.init if start is None else None, record=record,
                          history_names=self.twin.history, first_epoch=first_epoch)

    def python_lockstep(self, kernels, reference):
        return run_lockstep(self.epoch_fn(kernels), reference, self.weights)

    def model(self, variant, kernels, epochs, reference=None, record=None):
        """The Python model of R's ``variant``, free-running (intermediates kept at ``record``, default
        every epoch) or (``reference``) lockstep with R."""
        fn = self.epoch_fn(kernels, variant)
        if reference is not None:
            return run_lockstep(fn, reference, self.weights)
        return run_epochs(fn, self.python_start(variant), epochs, self.twin.names, self.weights,
                          init=self.scenario.init, record=record, history_names=self.twin.history)

    # derived bounds ------------------------------------------------------------------------------
    def spec_for(self, variant=None):
        """(step, name, expression) per intermediate, traced from the Python code that computes the
        left side: the twin's epoch, or the model of R's ``variant``."""
        key = variant if variant is not None and variant != self.reference_variant else None
        if key not in self._specs:
            model = self.twin.resolve(self.twin.variants[key].model, "model") if key else None
            start = self.python_start(key)

            def call(data, hyper, state, xp):
                return self.python_epoch(state, xp, fn=model, variant=key, data=data, hyper=hyper)

            try:
                outputs = trace_epoch(call, self.data, self.hyper, start)
            except TwinCodeError as exc:
                if not exc.not_numpy:
                    raise
                # the code leaves numpy: no bound (float rows say why), the exact rows still run
                message = str(exc)
                self._specs[key] = tuple((s.number, s.name, ("untraced", Params(message))) for s in self.twin.steps)
                self._shapes.setdefault(key, {n: np.shape(v) for n, v in
                                              self.python_epoch(dict(start), get_kernels(NUMPY_ARITHMETIC), fn=model,
                                                                variant=key).items()})
                return self._specs[key]
            self._shapes[key] = {n: np.shape(getattr(v, "value", v)) for n, v in outputs.items()}
            self._specs[key] = derive_spec(self.twin.steps, outputs)
        return self._specs[key]

    def python_shapes(self, variant=None):
        """Each intermediate's shape on the Python side (R's plain vectors are read in these shapes)."""
        key = variant if variant is not None and variant != self.reference_variant else None
        self.spec_for(variant)
        return self._shapes[key]

    @property
    def spec(self):
        return self.spec_for(None)

    # R -------------------------------------------------------------------------------------------
    def r_env(self, session):
        return session.twin_env(self.twin)

    def r_data(self, session):
        """The data as R objects (prepared by R's own code when the scenario says so), and the hyper-parameters."""
        if self._r_data is None:
            raw = {k: session.to_r(v) for k, v in self.scenario.data.items()}
            step = self.twin.preprocessing.get(self.scenario.preprocessing)
            if step is not None:
                prepared = self._r_call_with(session, step.r, raw)
                raw.update(dict(zip(prepared.names, prepared)))
            self._r_data = raw
        return self._r_data

    def _r_arg_dict(self, session, variant):
        """Every argument R's functions may take besides the state: data, hyper-parameters, the variant's."""
        args = dict(self.r_data(session))
        args.update({k: session.ro.FloatVector([v]) for k, v in self.hyper.items()})
        for k, v in self.twin.variants[variant].r_args.items():
            args[k] = v
        return args

    def _r_args(self, session, variant):
        return session.ro.ListVector(self._r_arg_dict(session, variant))

    @staticmethod
    def r_state(session, state):
        """A state as R's functions take it: an R list, from a dict of numpy arrays (or R values) or as it is."""
        if not isinstance(state, dict):
            return state
        return session.ro.ListVector({k: session.to_r(v) if isinstance(v, np.ndarray) else v for k, v in state.items()})

    def _r_call_with(self, session, fn, args):
        """R's twin function ``fn`` called by R's call_by_name (r_impl/R/twin_run.R): with the arguments
        its formals name out of ``args``, R's own error naming any it lacks."""
        return session.call_by_name(self.r_env(session), fn, args)

    def r_call(self, session, fn, variant=None, data=None, state=None):
        """The one way into the twin's R functions: ``fn`` with what it names of the data (``data``, new
        inputs by name, in place of the scenario's), the hyper-parameters, ``variant``'s R arguments and
        ``state``; its R value."""
        args = self._r_arg_dict(session, variant or self.reference_variant)
        args.update({k: session.to_r(v) for k, v in (data or {}).items()})
        if state is not None:
            args["state"] = self.r_state(session, state)
        return self._r_call_with(session, fn, args)

    # prediction ------------------------------------------------------------------------------------
    def python_predict(self, state, xp, data=None):
        """The twin's Python predict function with the arguments it names: the hyper-parameters, the
        scenario's data with ``data`` (new inputs by name) in its place, ``state`` and ``xp``. A
        function without ``xp`` is plain numpy: with bit-for-bit kernels its arrays are ExactArray,
        as in python_epoch, so that it too computes R's bits."""
        fn = self.twin.resolve(self.twin.python_predict, "python_predict")
        inputs = {**self.data, **(data or {})}
        exact = _plain_numpy(fn) and getattr(xp, "bit_for_bit", False)
        if exact:
            inputs, state = map(_exact_arrays, (inputs, state))
        try:
            out = call_by_name(fn, {**self.hyper, **inputs, "state": state, "xp": xp},
                               f"{self.twin.name!r} python_predict")
        except CrossverifyError:
            raise
        except NotNumpyError as exc:
            raise code_error(self.name, exc) from None
        return np.asarray(unwrap(out)) if exact else out

    def r_predict(self, session, state, variant=None, data=None):
        """The twin's R predict function (r_call) on ``state`` (a dict of numpy matrices or an R list),
        ``data`` in place of the scenario's; its value as numpy, R's own error if it fails."""
        return session.from_r(self.r_call(session, self.twin.r.predict, variant, data, state))

    def loss(self, series):
        """The twin's per-epoch loss (its ``loss=``) from series by name, epochs first: the mean of an
        intermediate at each epoch, or its loss function of the series it names; None when the twin
        declares none or ``series`` lacks what it needs."""
        loss = self.twin.loss
        if loss is None:
            return None
        if isinstance(loss, str) and ":" not in loss:
            return None if loss not in series else np.asarray(series[loss]).reshape(len(series[loss]), -1).mean(axis=1)
        fn = self.twin.resolve(loss, "loss")
        if not {name for name, required in _parameters(fn) if required} <= set(series):
            return None
        return np.asarray(call_by_name(fn, dict(series), f"{self.name!r} loss"), dtype=np.float64).reshape(-1)

    def r_formals(self, session, fn):
        """The names of the arguments the twin's R function ``fn`` takes."""
        env = self.r_env(session)
        names = session.call_in(env, "names", session.call_in(env, "formals", session.call_in(env, "get", fn, envir=env)))
        return [] if names == session.ro.NULL else list(names)

    def r_caller(self, session):
        """``r_call(fn, *args, **kwargs)`` for a twin's hooks: a function of its R files, numpy arrays sent as R arrays."""
        env = self.r_env(session)

        def convert(value):
            return session.to_r(value) if isinstance(value, np.ndarray) else value

        def r_call(fn, *args, **kwargs):
            return session.call_in(env, fn, *map(convert, args), **{k: convert(v) for k, v in kwargs.items()})

        return r_call

    def r_start(self, session, variant, state=None, data=None):
        """The state R's first epoch starts from: the twin's R start function (r_call) on ``state``
        (default: the scenario's drawn one), or that state itself when the twin has none."""
        state = self.r_state(session, dict(self.scenario.init) if state is None else state)
        if not self.twin.r.start:
            return state
        return self.r_call(session, self.twin.r.start, variant, data, state)

    def r(self, session, variant, epochs, record=None, start=None, first_epoch=0):
        variant = variant or self.reference_variant
        env = self.r_env(session)
        if start is None:
            r_start = self.r_start(session, variant)
            start_np = _r_dict(session, r_start)
        else:
            start_np = start
            r_start = self.r_state(session, start)
        recorded = np.arange(first_epoch, first_epoch + epochs) if record is None else \
            np.array([e for e in record if first_epoch <= e < first_epoch + epochs], dtype=np.int64)
        res = session.call_in(env, "twin_run", session.call_in(env, "get", self.twin.r.epoch, envir=env),
                              self._r_args(session, variant), r_start, epochs,
                              session.ro.IntVector([int(e - first_epoch + 1) for e in recorded]),
                              session.ro.StrVector(list(self.weights)),
                              session.ro.StrVector(list(self.twin.history_names)))
        part = dict(zip(res.names, res))
        plain = set(part["vectors"]) if "vectors" in part else set()
        steps, history = (_steps_from_r(session, part[k]) for k in ("steps", "history"))
        if plain or any(v.shape[1:] == (1, 1) for v in steps.values()):  # only then can a shape be Python's to give
            shapes = self.python_shapes(variant)
            steps, history = (self._as_python(v, plain, shapes) for v in (steps, history))
        return Trace(self.scenario.init, recorded, steps, self.twin.names, start=start_np, history=history,
                     first_epoch=first_epoch, n_epochs=epochs)

    @staticmethod
    def _as_python(arrays, plain, shapes):
        """R's results in Python's shapes where R has no shape to give: a length-1 result, or a plain
        vector (rowSums, apply(m, 1, max), mean) with as many elements as Python's result, laid along
        its one long axis. R matrices keep their own dim (a different one is a shape error)."""
        out = {}
        for name, v in arrays.items():
            want = tuple(shapes.get(name, v.shape[1:]))
            one_axis = sum(k > 1 for k in want) <= 1
            number = v.shape[1:] == (1, 1) and want == ()
            if want != v.shape[1:] and ((name in plain and one_axis) or number) and v[0].size == int(np.prod(want)):
                v = v.reshape((len(v),) + want)
            out[name] = v
        return out


def network_for(scenario):
    """The TwinRun of a loaded scenario."""
    return TwinRun(scenario.twin, scenario)
