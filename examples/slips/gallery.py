"""The one declaration every twin of the slip gallery shares (each slip's folder calls
:func:`declare` from its twin.py with its own R file): the steps, state and shapes of slip_net.py."""
import os

from crossverify import RSide, Step, Twin

HERE = os.path.dirname(os.path.abspath(__file__))

# each folder of the gallery, and the one slip its slip_net.R makes (a key of bridge/explain/slips.py's
# CATALOGUE; None for the correct translation)
SLIPS = {
    "correct": None,
    "recycling": "recycling",
    "axis": "axis",
    "sd": "n-1",
    "factor": "factor-missing",
    "twice": "factor-twice",
    "rate": "constant",
    "apply": "transpose",
    "drop": "drop",
    "fill": "fill-order",
    "shift": "index-shift",
    "random": "random-stream",
    "division": "integer-division",
    "sort": "sort-order",
}


def declare(twin_file):
    """The Twin of the folder holding ``twin_file``: slip_net.py against that folder's slip_net.R, with
    the slip SLIPS names for that folder."""
    from crossverify.explain.slips import CATALOGUE
    folder = os.path.dirname(os.path.abspath(twin_file))
    slip = SLIPS[os.path.basename(folder)]
    return Twin(
        name="slip_" + os.path.basename(folder),
        title="Standardise, then gradient descent for two outputs; R side: "
              + ("the correct translation" if slip is None else f"one slip, {CATALOGUE[slip][0]}"),
        section="The slip gallery (docs/SLIPS.md)",
        python=os.path.join(HERE, "slip_net.py") + ":epoch",
        python_start=os.path.join(HERE, "slip_net.py") + ":start",
        r=RSide(files=("slip_net.R",), epoch="epoch", start="start"),
        state=("W",),
        history=("loss",),
        steps=(
            Step(1, "mu", "mu = column means of X"),
            Step(2, "Xc", "Xc = X - mu (mu taken away from every row)"),
            Step(3, "s", "s = column standard deviations, dividing by n (np.std)"),
            Step(4, "Z", "Z = Xc / s"),
            Step(5, "C", "C = Z^T Xc / n: slope of feature j on standardised feature i"),
            Step(6, "P", "P = exp(C) / row sums of exp(C)"),
            Step(7, "E", "E = Z W - Y"),
            Step(8, "G", "G = Z^T E / n"),
            Step(9, "W", "W = W - lr G"),
            Step(10, "loss", "loss = mean(E^2)"),
            Step(11, "S", "S = s sorted, largest first (numpy sorts ascending: -np.sort(-s))"),
        ),
        inputs={"X": "X = features, one sample per row", "Y": "Y = two targets per sample",
                "draws": "draws = the starting weights as one row of uniform draws",
                "W": "W = weights, features x outputs"},
        data={"X": ("n", "f"), "Y": ("n", "k"), "draws": (1, "m")},
        init={"W": ("f", "k")},
        hyper=("lr",),
        rosetta_key="slip-net",
        loss="loss",
        base_dir=folder,
    )
