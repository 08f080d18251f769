"""The networks the bridge knows: how each is trained on each side and what its steps compute.

A network adapter gives the bridge one interface over python_impl/<net>.py and r_impl/R/<net>.R:
Python and R traces (whole runs or chunks of one), lockstep traces, the expression of every
step for the float-kernel bound (bridge/bounds.py), and which R variants it has.
"""
import numpy as np

from python_impl import bias_net, detail
from python_impl.kernels import get_kernels
from python_impl.trace import Trace, run_epochs, run_lockstep

from . import rmodel

# (article step, intermediate, the expression both languages evaluate for it), in the order an
# epoch computes them; bridge/bounds.py turns each expression into a floating-point bound.
BIAS_NET_SPEC = (
    (2, "hidden_layer_input", ("add", ("matmul", "X", "wh@prev"), "bh@prev")),
    (3, "hiddenlayer_activations", ("sigmoid", "hidden_layer_input")),
    (4, "output_layer_input", ("add", ("matmul", "hiddenlayer_activations", "wout@prev"), "bout@prev")),
    (4, "output", ("sigmoid", "output_layer_input")),
    (5, "E", ("sub", "y", "output")),
    (6, "slope_output_layer", ("slope", "output")),
    (6, "slope_hidden_layer", ("slope", "hiddenlayer_activations")),
    (7, "d_output", ("mul", "E", "slope_output_layer")),
    (8, "Error_at_hidden_layer", ("matmul", "d_output", ("T", "wout@prev"))),
    (9, "d_hiddenlayer", ("mul", "Error_at_hidden_layer", "slope_hidden_layer")),
    (10, "wout", ("add", "wout@prev", ("mul", ("matmul", ("T", "hiddenlayer_activations"), "d_output"), "lr"))),
    (10, "wh", ("add", "wh@prev", ("mul", ("matmul", ("T", "X"), "d_hiddenlayer"), "lr"))),
    (11, "bout", ("add", "bout@prev", ("mul", ("sum", "d_output"), "lr"))),
    (11, "bh", ("add", "bh@prev", ("mul", ("sum", "d_hiddenlayer"), "lr"))),
)

_DELTA_OUT = ("mul", "output_wrt_outputLayer_LinearTransform", "error_wrt_output")
DETAIL_SPEC = (
    (1, "hiddenLayer_linearTransform", ("matmul", ("T", "weights_input_hidden@prev"), "X")),
    (2, "hiddenLayer_activations", ("sigmoid", "hiddenLayer_linearTransform")),
    (3, "outputLayer_linearTransform", ("matmul", ("T", "weights_hidden_output@prev"), "hiddenLayer_activations")),
    (4, "output", ("sigmoid", "outputLayer_linearTransform")),
    (5, "error", ("scale", ("mul", ("sub", "y", "output"), ("sub", "y", "output")), 0.5)),
    (6, "mean_error", ("mean", "error")),
    (7, "error_wrt_output", ("neg", ("sub", "y", "output"))),
    (8, "output_wrt_outputLayer_LinearTransform", ("slope", "output")),
    (9, "outputLayer_LinearTransform_wrt_weights_hidden_output", "hiddenLayer_activations"),
    (10, "error_wrt_weights_hidden_output",
     ("matmul", "outputLayer_LinearTransform_wrt_weights_hidden_output",
      ("T", ("mul", "error_wrt_output", "output_wrt_outputLayer_LinearTransform")))),
    (11, "outputLayer_LinearTransform_wrt_hiddenLayer_activations", "weights_hidden_output@prev"),
    (12, "hiddenLayer_activations_wrt_hiddenLayer_linearTransform", ("slope", "hiddenLayer_activations")),
    (13, "hiddenLayer_linearTransform_wrt_weights_input_hidden", "X"),
    (14, "error_wrt_weights_input_hidden",
     ("matmul", "hiddenLayer_linearTransform_wrt_weights_input_hidden",
      ("T", ("mul", "hiddenLayer_activations_wrt_hiddenLayer_linearTransform",
             ("matmul", "outputLayer_LinearTransform_wrt_hiddenLayer_activations", _DELTA_OUT))))),
    (15, "weights_hidden_output", ("sub", "weights_hidden_output@prev", ("mul", "lr", "error_wrt_weights_hidden_output"))),
    (16, "weights_input_hidden", ("sub", "weights_input_hidden@prev", ("mul", "lr", "error_wrt_weights_input_hidden"))),
)


def _r_dict(session, obj):
    return {k: session.from_r(v) for k, v in zip(obj.names, obj)}


def _steps_from_r(session, obj):
    """R arrays with the epoch last (dim c(rows, cols, epochs)) as numpy arrays with it first."""
    return {k: np.ascontiguousarray(np.moveaxis(v, -1, 0)) for k, v in _r_dict(session, obj).items()}


class BiasNet:
    """The bias network (python_impl/bias_net.py, r_impl/R/bias_net.R) and its four R variants."""

    name = "bias_net"
    module = bias_net
    spec = BIAS_NET_SPEC
    variants = tuple(rmodel.VARIANTS)
    reference_variant = "corrected"  # the R variant the Python code should equal
    weights = bias_net.WEIGHTS

    def __init__(self, scenario):
        self.scenario = scenario
        self.X, self.y = scenario.data["X"], scenario.data["y"]

    def checkpoints(self, epochs=None):
        return None  # small enough to keep every intermediate of every epoch

    def python(self, kernels, epochs, record=None):
        return bias_net.train(self.X, self.y, self.scenario.init, self.scenario.lr, epochs, get_kernels(kernels))

    def python_lockstep(self, kernels, reference):
        return bias_net.train_lockstep(self.X, self.y, reference, self.scenario.lr, get_kernels(kernels))

    def r(self, session, variant, epochs, record=None):
        init = self.scenario.init
        res = session.call("bias_net_train", session.to_r(self.X), session.to_r(self.y),
                           session.to_r(init["wh"]), session.to_r(init["bh"].ravel()), session.to_r(init["wout"]),
                           session.to_r(init["bout"].ravel()), self.scenario.lr, epochs, variant)
        part = dict(zip(res.names, res))
        return Trace(_r_dict(session, part["init"]), np.arange(epochs), _steps_from_r(session, part["steps"]),
                     bias_net.NAMES, start=_r_dict(session, part["start"]))

    def fixed(self, variant=None):
        """Data, learning rate and step 11's sum: Python's, or R ``variant``'s as modelled."""
        n, h = self.X.shape[0], self.scenario.init["bh"].shape[1]
        out = {"X": self.X, "y": self.y, "lr": self.scenario.lr}
        if variant is None or variant == "corrected":
            out["reduce"], out["sum_terms"] = (lambda D: D.sum(axis=-2, keepdims=True)), n
        else:
            sums = rmodel.VARIANTS[variant]["bias_sums"]
            out["reduce"], out["sum_terms"] = rmodel.r_sum_reducer(variant, n), (h if sums == "rowSums" else n)
        return out

    # the Python model of the R variants' recycling (bridge/rmodel.py)
    def model(self, variant, kernels, epochs, reference=None):
        xp = get_kernels(kernels)

        def epoch(state):
            return rmodel.r_epoch(self.X, self.y, state, self.scenario.lr, variant, xp)

        if reference is not None:
            return run_lockstep(epoch, reference, bias_net.WEIGHTS)
        start = rmodel.r_initial_state(self.scenario.init, self.X.shape[0], variant)
        return run_epochs(epoch, start, epochs, bias_net.NAMES, bias_net.WEIGHTS, init=self.scenario.init)


class Detail:
    """The detail-section network (python_impl/detail.py, r_impl/R/detail.R): one R translation."""

    name = "detail"
    module = detail
    spec = DETAIL_SPEC
    variants = ("article",)
    reference_variant = "article"
    weights = detail.WEIGHTS
    CHECKPOINT_EVERY = 1000

    def __init__(self, scenario):
        self.scenario = scenario
        raw = scenario.data["X"]
        self.X = detail.normalise(raw) if scenario.preprocessing == "normalise" else raw
        self.y = scenario.data["y"]
        self._r_data = None

    def checkpoints(self, epochs=None):
        """Every epoch for short runs; for long ones, every 1000th epoch and the last."""
        n = epochs or self.scenario.epochs
        if n <= 2000:
            return None
        return sorted(set(range(0, n, self.CHECKPOINT_EVERY)) | {n - 1})

    def python(self, kernels, epochs, record=None, start=None, first_epoch=0):
        return detail.train(self.X, self.y, start or self.scenario.init, self.scenario.lr, epochs,
                            get_kernels(kernels), record=record, first_epoch=first_epoch)

    def python_lockstep(self, kernels, reference):
        return detail.train_lockstep(self.X, self.y, reference, self.scenario.lr, get_kernels(kernels))

    def r_data(self, session):
        """X and y as R objects, X normalised by R's own code when the scenario says so."""
        if self._r_data is None:
            X = session.to_r(self.scenario.data["X"])
            if self.scenario.preprocessing == "normalise":
                X = session.call("detail_normalise", X)
            self._r_data = (X, session.to_r(self.y))
        return self._r_data

    def r(self, session, variant, epochs, record=None, start=None, first_epoch=0):
        X, y = self.r_data(session)
        state = start or self.scenario.init
        recorded = np.arange(first_epoch, first_epoch + epochs) if record is None else \
            np.array([e for e in record if first_epoch <= e < first_epoch + epochs], dtype=np.int64)
        res = session.call("detail_train", X, y, session.to_r(state["weights_input_hidden"]),
                           session.to_r(state["weights_hidden_output"]), self.scenario.lr, epochs,
                           session.ro.IntVector([int(e - first_epoch + 1) for e in recorded]))
        part = dict(zip(res.names, res))
        return Trace(self.scenario.init, recorded, _steps_from_r(session, part["steps"]), detail.NAMES,
                     start=_r_dict(session, part["start"]), history=_steps_from_r(session, part["history"]),
                     first_epoch=first_epoch, n_epochs=epochs)

    def fixed(self, variant=None):
        return {"X": self.X, "y": self.y, "lr": self.scenario.lr}


NETWORKS = {"bias_net": BiasNet, "detail": Detail}


def network_for(scenario):
    return NETWORKS[scenario.network](scenario)
