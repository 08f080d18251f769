"""A trace: the initial weights, every named intermediate of the recorded epochs, and the
weights (plus any other small series) after every epoch.

Epochs are numbered from 0, as the article prints them ("Error at epoch 0"); R's loop
``for (i in 1:epoch)`` calls the same epoch ``i = 1``. A trace may cover a slice of a run
(``first_epoch`` onwards), which is how long runs are compared chunk by chunk.
"""
import numpy as np


class Trace:
    """``steps[name][j]`` is ``name`` at epoch ``epochs[j]``; ``series(name)[e - first_epoch]`` is
    ``name`` after epoch ``e``, for the names in ``history`` (by default, every recorded name when
    every epoch was recorded)."""

    def __init__(self, init, epochs, steps, names, start=None, history=None, first_epoch=0, n_epochs=None):
        self.init = {k: np.asarray(v, dtype=np.float64) for k, v in init.items()}
        # the matrices the first epoch starts from; R spreads the drawn biases into one row per sample
        self.start = self.init if start is None else {k: np.asarray(v, dtype=np.float64) for k, v in start.items()}
        self.epochs = np.asarray(epochs, dtype=np.int64)
        self.steps = steps
        self.names = tuple(names)
        self.first_epoch = int(first_epoch)
        self.n_epochs = len(self.epochs) if n_epochs is None else int(n_epochs)
        self.history = history if history is not None else (
            dict(steps) if np.array_equal(self.epochs, np.arange(self.first_epoch, self.first_epoch + self.n_epochs))
            else {})

    def __len__(self):
        return len(self.epochs)

    def row(self, epoch):
        hits = np.flatnonzero(self.epochs == epoch)
        if not hits.size:
            raise KeyError(f"epoch {epoch} was not recorded")
        return int(hits[0])

    def at(self, epoch, name):
        return self.steps[name][self.row(epoch)]

    def series(self, name):
        """``name`` after every epoch of the trace, stacked along the first axis."""
        return self.history[name]

    def state_before(self, epoch, weight_names):
        """The weights an epoch starts from: the previous epoch's updates, or the starting ones."""
        if epoch == self.first_epoch:
            return {w: self.start[w] for w in weight_names}
        return {w: self.history[w][epoch - 1 - self.first_epoch] for w in weight_names}

    def to_npz_dict(self):
        """Keys ``init/<name>`` and ``epoch<k>/<name>`` (docs/FACTS.md section 7)."""
        out = {f"init/{k}": v for k, v in self.init.items()}
        for j, e in enumerate(self.epochs):
            for name in self.names:
                out[f"epoch{e}/{name}"] = self.steps[name][j]
        return out


class _Recorder:
    """Collects full intermediates at the recorded epochs and the history series at every epoch."""

    def __init__(self, names, record, history_names, n_epochs):
        self.names, self.record, self.history_names, self.n = names, record, history_names, n_epochs
        self.steps = self.history = None
        # epoch -> its row in steps: one dict look-up an epoch (a run has thousands)
        self.rows = {int(e): j for j, e in enumerate(record)}

    def add(self, k, epoch, values):
        if self.steps is None:
            self.steps = {n: np.empty((len(self.record),) + np.shape(values[n])) for n in self.names}
            self.history = {n: np.empty((self.n,) + np.shape(values[n])) for n in self.history_names}
        j = self.rows.get(epoch)
        if j is not None:
            for n in self.names:
                self.steps[n][j] = values[n]
        for n in self.history_names:
            self.history[n][k] = values[n]


def _epochs_to_record(record, first_epoch, n_epochs):
    if record is None:
        return np.arange(first_epoch, first_epoch + n_epochs)
    record = np.unique(np.asarray(list(record), dtype=np.int64))
    return record[(record >= first_epoch) & (record < first_epoch + n_epochs)]


def run_epochs(epoch_fn, state, epochs, names, weight_names, init=None, record=None, history_names=None,
               first_epoch=0):
    """Run ``epoch_fn(state) -> intermediates`` ``epochs`` times from ``state``.

    Every intermediate is kept at the epochs in ``record`` (default: all); the weights, and any
    ``history_names``, after every epoch. ``init`` are the drawn weights when ``state`` was built
    from them (R's bias matrices).
    """
    start = dict(state)
    recorded = _epochs_to_record(record, first_epoch, epochs)
    keep = _Recorder(names, recorded, tuple(dict.fromkeys(tuple(weight_names) + tuple(history_names or ()))), epochs)
    for k in range(epochs):
        values = epoch_fn(state)
        keep.add(k, first_epoch + k, values)
        state = {w: values[w] for w in weight_names}
    return Trace(init or start, recorded, keep.steps, names, start=start, history=keep.history,
                 first_epoch=first_epoch, n_epochs=epochs)


def run_lockstep(epoch_fn, reference, weight_names):
    """One epoch of ``epoch_fn`` from each state the ``reference`` trace started an epoch in;
    intermediates kept where the reference kept them, the same history series."""
    keep = _Recorder(reference.names, reference.epochs, tuple(reference.history), reference.n_epochs)
    for k in range(reference.n_epochs):
        epoch = reference.first_epoch + k
        keep.add(k, epoch, epoch_fn(reference.state_before(epoch, weight_names)))
    return Trace(reference.init, reference.epochs, keep.steps, reference.names, start=reference.start,
                 history=keep.history, first_epoch=reference.first_epoch, n_epochs=reference.n_epochs)
