"""k-means clustering by Lloyd's algorithm (Lloyd 1982, "Least squares quantization in PCM"), in
numpy as it is usually written: no crossverify namespace, only numpy. Its R half is kmeans.R.

One iteration from the centroids C (k x p) the previous one ended with:
  D[i, j] = sum over features of (X[i] - C[j])^2      squared distances, n x k
  labels[i] = argmin_j D[i, j]                          nearest centroid (0-based)
  inertia = sum_i min_j D[i, j]                         the objective Lloyd's algorithm lowers
  C_new[j] = mean of the rows of X labelled j           one centroid per cluster, k x p
  shift = sqrt(sum((C_new - C)^2))                      how far the centroids moved
"""
import numpy as np


def squared_distances(X, C):
    """D[i, j] = |X[i] - C[j]|^2, one column per centroid."""
    return np.stack([np.sum((X - C[j]) ** 2, axis=1) for j in range(len(C))], axis=1)


def update_centroids(X, labels, k):
    """C_new[j] = the mean of the points assigned to cluster j (boolean mask per cluster)."""
    return np.vstack([X[labels == j].mean(axis=0) for j in range(k)])


def lloyd_step(X, C):
    """One Lloyd iteration from centroids C; every intermediate by name."""
    D = squared_distances(X, C)  # rosetta: kmeans 1
    labels = np.argmin(D, axis=1)  # rosetta: kmeans 2
    inertia = np.sum(np.min(D, axis=1))  # rosetta: kmeans 3
    C_new = update_centroids(X, labels, len(C))  # rosetta: kmeans 4
    shift = np.sqrt(np.sum((C_new - C) ** 2))  # rosetta: kmeans 5
    return {"D": D, "labels": labels, "inertia": inertia, "C": C_new, "shift": shift}
