"""k-means (kmeans.py beside kmeans.R), both sides written without crossverify in mind: the
declaration, the one place the twin's names and shapes are listed."""
from crossverify import RSide, Step, Twin

TWIN = Twin(
    name="kmeans",
    title="k-means clustering (Lloyd's algorithm)",
    section="Lloyd (1982), Least squares quantization in PCM",
    python="kmeans.py:lloyd_step",
    r=RSide(files=("kmeans.R",), epoch="lloyd_step"),
    state=("C",),  # iteration k + 1 starts from iteration k's centroids
    history=("inertia", "shift"),
    steps=(
        Step(1, "D", "D[i, j] = sum((X[i] - C[j])^2)"),
        Step(2, "labels", "labels[i] = argmin_j D[i, j]"),
        Step(3, "inertia", "inertia = sum_i min_j D[i, j]"),
        Step(4, "C", "C[j] = mean(X[labels == j])"),
        Step(5, "shift", "shift = sqrt(sum((C_new - C)^2))"),
    ),
    inputs={"X": "X = the points, one per row", "C": "C = the centroids, one per row"},
    data={"X": ("n", "p")},
    init={"C": ("k", "p")},
    hyper=(),
    loss="inertia",
)
