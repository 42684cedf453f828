"""A listener's moods as a translation of the base model's: the layer a personal model adds.

A listener who hears slow gloomy music as Calm, or upbeat rock as Energetic, disagrees with the
training data *systematically*. Refitting the 200-dimensional model on the base data plus a few
dozen labels barely moves it (the base rows outvote the labels); instead the personal model keeps
the base model and learns, from the user's labels only, a 4×4 linear map of its mood scores
(logits): ``personal logits = A · base logits + c``. ``A`` and ``c`` are shrunk toward the identity
(the base model's own answer) with a strength chosen by cross-validation on the labels, so ten
labels move it a little and eighty a lot. Composed with the base model's linear layer, the result
is again one linear layer on the embedding: the same runtime, card and pipeline as before.

>>> import numpy as np
>>> Z = np.array([[2.0, 0, 0, 0], [0, 0, 0, 2.0]] * 10)  # base: "mood 0", "mood 3"
>>> y = np.array([0, 2] * 10)                          # the listener: mood 3 is mood 2 to them
>>> A, c = translation(Z, y, 4, strength=1.0)
>>> (Z @ A.T + c).argmax(axis=1)[:2].tolist()
[0, 2]
"""

from __future__ import annotations

import numpy as np

#: Candidate strengths of the pull toward the base model (chosen by CV on the labels).
STRENGTHS = (0.3, 1.0, 3.0, 10.0)


def translation(Z: np.ndarray, y: np.ndarray, k: int, *, strength: float):
    """``(A, c)`` minimising the labels' cross-entropy of ``softmax(A z + c)`` plus
    ``strength · (|A - I|² + |c|²)``; ``y`` holds class indices.
    """
    from scipy.optimize import minimize

    Z = np.asarray(Z, dtype=float)
    y = np.asarray(y, dtype=int)
    n, eye = len(y), np.eye(k)

    def loss(theta):
        A, c = theta[: k * k].reshape(k, k), theta[k * k :]
        L = Z @ A.T + c
        L = L - L.max(axis=1, keepdims=True)
        logp = L - np.log(np.exp(L).sum(axis=1, keepdims=True))
        P = np.exp(logp)
        P[np.arange(n), y] -= 1.0
        value = -logp[np.arange(n), y].sum() + strength * (((A - eye) ** 2).sum() + (c**2).sum())
        grad_a = P.T @ Z + 2 * strength * (A - eye)
        grad_c = P.sum(axis=0) + 2 * strength * c
        return value, np.concatenate([grad_a.ravel(), grad_c])

    theta0 = np.concatenate([eye.ravel(), np.zeros(k)])
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B")
    return res.x[: k * k].reshape(k, k), res.x[k * k :]


def choose_strength(
    Z: np.ndarray, y: np.ndarray, k: int, *, folds: int = 5, seed: int = 0
) -> float:
    """The :data:`STRENGTHS` value with the best K-fold accuracy on the labels (ties: the
    strongest pull, the most cautious).
    """
    y = np.asarray(y, dtype=int)
    n = len(y)
    if n < 4:
        return max(STRENGTHS)
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, min(folds, n))
    best, best_acc = max(STRENGTHS), -1.0
    for s in sorted(STRENGTHS, reverse=True):
        hits = 0
        for test in parts:
            train = np.setdiff1d(order, test)
            A, c = translation(Z[train], y[train], k, strength=s)
            hits += int(((Z[test] @ A.T + c).argmax(axis=1) == y[test]).sum())
        if hits / n > best_acc + 1e-12:
            best, best_acc = s, hits / n
    return best
