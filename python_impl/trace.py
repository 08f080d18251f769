"""A trace: the initial weights and every named intermediate of the recorded epochs.

Epochs are numbered from 0, as the article prints them ("Error at epoch 0"); R's loop
``for (i in 1:epoch)`` calls the same epoch ``i = 1``.
"""
import numpy as np


class Trace:
    """``init[name]`` is an initial weight; ``steps[name][j]`` is ``name`` at epoch ``epochs[j]``."""

    def __init__(self, init, epochs, steps, names, start=None):
        self.init = {k: np.asarray(v, dtype=np.float64) for k, v in init.items()}
        # the matrices epoch 0 starts from; R spreads the drawn biases into one row per sample
        self.start = self.init if start is None else {k: np.asarray(v, dtype=np.float64) for k, v in start.items()}
        self.epochs = np.asarray(epochs, dtype=np.int64)
        self.steps = steps
        self.names = tuple(names)

    def __len__(self):
        return len(self.epochs)

    def row(self, epoch):
        hits = np.flatnonzero(self.epochs == epoch)
        if not hits.size:
            raise KeyError(f"epoch {epoch} was not recorded")
        return int(hits[0])

    def at(self, epoch, name):
        return self.steps[name][self.row(epoch)]

    def state_before(self, epoch, weight_names):
        """The weights an epoch starts from: the previous epoch's updates, or the initial ones."""
        if epoch == 0:
            return {w: self.start[w] for w in weight_names}
        return {w: self.at(epoch - 1, w) for w in weight_names}

    def to_npz_dict(self):
        """Keys ``init/<name>`` and ``epoch<k>/<name>`` (DESIGN.md section 7)."""
        out = {f"init/{k}": v for k, v in self.init.items()}
        for j, e in enumerate(self.epochs):
            for name in self.names:
                out[f"epoch{e}/{name}"] = self.steps[name][j]
        return out


def run_epochs(epoch_fn, state, epochs, names, weight_names, init=None):
    """Run ``epoch_fn(state) -> intermediates`` ``epochs`` times from ``state``, recording all.

    ``init`` are the drawn weights when ``state`` was built from them (R's bias matrices).
    """
    start = dict(state)
    steps = None
    for e in range(epochs):
        values = epoch_fn(state)
        if steps is None:
            steps = {n: np.empty((epochs,) + np.shape(values[n])) for n in names}
        for n in names:
            steps[n][e] = values[n]
        state = {w: values[w] for w in weight_names}
    return Trace(init or start, np.arange(epochs), steps, names, start=start)


def run_lockstep(epoch_fn, reference, weight_names):
    """One epoch of ``epoch_fn`` from each state the ``reference`` trace started an epoch in."""
    steps = None
    for j, e in enumerate(reference.epochs):
        state = reference.state_before(int(e), weight_names)
        values = epoch_fn(state)
        if steps is None:
            steps = {n: np.empty((len(reference),) + np.shape(values[n])) for n in reference.names}
        for n in reference.names:
            steps[n][j] = values[n]
    return Trace(reference.init, reference.epochs, steps, reference.names, start=reference.start)
