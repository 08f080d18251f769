"""The bias network's per-epoch loss, which the report plots: the article trains on E = y - output,
the gradient of (y - output)^2 / 2, so the loss is that half squared error's mean over the samples."""


def half_squared_error(E):
    """mean of (y - output)^2 / 2"""
    return (E * E / 2).reshape(len(E), -1).mean(axis=1)
