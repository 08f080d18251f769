"""Power iteration (power_iteration.py beside power_iteration.R): the declaration, the one place the
twin's names and shapes are listed."""
from crossverify import RSide, Step, Twin

TWIN = Twin(
    name="power_iteration",
    title="Power iteration for the dominant eigenvector",
    section="Numerical linear algebra: the power method with the Rayleigh quotient",
    python="power_iteration.py:iterate",
    r=RSide(files=("power_iteration.R",), epoch="iterate"),
    state=("v",),  # iteration k + 1 starts from iteration k's v
    history=("rayleigh", "change"),
    steps=(
        Step(1, "Av", "Av = A v"),
        Step(2, "norm", "norm = sqrt(sum(Av^2))"),
        Step(3, "v", "v = Av / norm"),
        Step(4, "rayleigh", "rayleigh = sum(v * (A v))"),
        Step(5, "change", "change = sum(|v - v_prev|)"),
    ),
    inputs={"A": "A = a symmetric matrix", "v": "v = the unit vector the iteration starts from"},
    data={"A": ("n", "n")},
    init={"v": ("n", 1)},
    hyper=(),
)
