"""The personal model learns a listener's systematic disagreement from a few labels (a translation
of the base model's moods), and stays with the base model when the labels agree with it.
Synthetic embeddings: four Gaussian clusters, one per mood of the training data.
"""

from __future__ import annotations

import numpy as np

from trackmood.library.personal import _fit, _predict
from trackmood.moods import MOODS


def clusters(n_per, seed, dim=12):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(scale=2.0, size=(4, dim))
    X = np.vstack([c + rng.normal(size=(n_per, dim)) for c in centres])
    y = np.repeat(np.array(MOODS, dtype=object), n_per)
    return X, y


SWAP = {"Calm": "Sad", "Sad": "Calm", "Happy": "Happy", "Energetic": "Energetic"}


def test_a_few_labels_teach_a_systematic_difference():
    Xb, yb = clusters(100, 0)
    Xt, yt = clusters(100, 1)
    listener = np.array([SWAP[m] for m in yt], dtype=object)
    features = [f"f{i}" for i in range(Xb.shape[1])]
    base = _fit(Xb, yb, np.empty((0, Xb.shape[1])), np.array([], dtype=object), features)
    before = (_predict(base, Xt) == listener).mean()
    assert before < 0.6  # the base model disagrees with the listener on Calm and Sad
    Xu, yu = clusters(5, 2)  # 20 labels, 5 per mood
    labels = np.array([SWAP[m] for m in yu], dtype=object)
    personal = _fit(Xb, yb, Xu, labels, features)
    after = (_predict(personal, Xt) == listener).mean()
    assert after > before + 0.3, (before, after)
    # the model is still one linear layer on the embedding, with valence/energy heads
    assert personal.meta["heads"] and len(personal.members[0]) == 1


def test_labels_that_agree_leave_the_base_model_as_it_was():
    Xb, yb = clusters(100, 0)
    Xt, yt = clusters(100, 1)
    features = [f"f{i}" for i in range(Xb.shape[1])]
    base = _fit(Xb, yb, np.empty((0, Xb.shape[1])), np.array([], dtype=object), features)
    Xu, yu = clusters(5, 3)
    personal = _fit(Xb, yb, Xu, yu, features)
    same = (_predict(personal, Xt) == _predict(base, Xt)).mean()
    assert same > 0.95
