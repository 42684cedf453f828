"""The descriptor vector and the Spotify-style columns of a span of frames.

:func:`summarize` turns the frame-level analysis (:class:`trackmood.audio.frames.Frames`) of a
whole track, or of a window of it (the timeline), into the measured columns (:data:`MEASURED`),
the flagged estimates (:data:`ESTIMATED`), the always-empty Spotify-only columns (:data:`EMPTY`)
and the descriptor vector the audio model reads (:data:`DESCRIPTORS`, ``a_*``).
"""

from __future__ import annotations

import math

import numpy as np

from .dsp import HOP, N_MELS, N_MFCC, moving_mean, tonnetz
from .key import estimate as estimate_key
from .key import fold
from .rhythm import estimate_tempo, mod4hz, onset_rate, pulse, tempo

#: Spotify-style columns an extraction table carries, in order. Values measured or estimated are
#: filled; the rest stay empty (see module docstring).
MEASURED = ("duration_ms", "tempo", "beat_confidence", "loudness", "key", "mode", "key_confidence")
ESTIMATED = ("energy_est", "danceability_est")
EMPTY = (
    "energy",
    "danceability",
    "valence",
    "acousticness",
    "instrumentalness",
    "liveness",
    "speechiness",
)
MEASURED_SOURCE = "audio:librosa"
ESTIMATE_SOURCE = "estimate:heuristic"

_PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl & Kessler (1982) key profiles.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _profiles() -> np.ndarray:
    """(2, 12, 12): row k of each profile is the centred, unit-norm profile rotated to key k."""
    out = np.empty((2, 12, 12))
    for i, prof in enumerate((_MAJOR, _MINOR)):
        p = prof - prof.mean()
        p /= np.linalg.norm(p)
        out[i] = [np.roll(p, k) for k in range(12)]
    return out


_PROFILES = _profiles()


def _descriptor_names() -> tuple[str, ...]:
    names = []
    for i in range(N_MFCC):
        names += [f"a_mfcc{i:02d}_mean", f"a_mfcc{i:02d}_std"]
    for i in range(N_MFCC):
        names.append(f"a_dmfcc{i:02d}_std")
    for i in range(N_MELS):
        names += [f"a_mel{i:02d}_mean", f"a_mel{i:02d}_std"]
    for i in range(7):
        names += [f"a_contrast{i}_mean", f"a_contrast{i}_std"]
    for name in ("centroid", "bandwidth", "rolloff", "flatness", "zcr", "flux"):
        names += [f"a_{name}_mean", f"a_{name}_std"]
    for p in _PITCHES:
        names.append(f"a_chroma_{p}_rel")  # mean chroma rotated to the estimated key
    names += ["a_chroma_std", "a_chroma_flux"]
    for i in range(6):
        names += [f"a_tonnetz{i}_mean", f"a_tonnetz{i}_std"]
    names += ["a_key_strength", "a_major_minor", "a_mode"]
    names += [
        "a_rms_db_mean",
        "a_rms_db_std",
        "a_rms_db_p10",
        "a_rms_db_p50",
        "a_rms_db_p90",
        "a_dynamic_range",
        "a_low_energy",
        "a_loudness",
    ]
    for i in range(13):
        names.append(f"a_mfcc{i:02d}_slow")  # std of 1.5 s texture-window means
    for i in range(7):
        names.append(f"a_contrast{i}_slow")
    for name in ("centroid", "flatness", "flux", "rms"):
        names.append(f"a_{name}_slow")
    for band in ("low", "mid", "high"):
        names += [f"a_onset_{band}_mean", f"a_onset_{band}_std", f"a_onset_{band}_pulse"]
    names += [
        "a_onset_mean",
        "a_onset_std",
        "a_onset_rate",
        "a_tempo",
        "a_log_tempo",
        "a_beat_confidence",
        "a_pulse_max",
        "a_pulse_half",
        "a_pulse_double",
        "a_beat_regularity",
        "a_mod4hz",
    ]
    # peak and valley levels of the contrast bands relative to the frame level (distortion,
    # noisiness and brightness per octave) and the spread of contrast over frames
    for i in range(7):
        names += [
            f"a_valley{i}_mean",
            f"a_valley{i}_std",
            f"a_peak{i}_mean",
            f"a_peak{i}_std",
            f"a_contrast{i}_p10",
            f"a_contrast{i}_p90",
        ]
    # tonality: key clarity and major/minor strength over 5 s windows, chroma entropy, interval
    # content (dissonance), minor-vs-major thirds/sixths/sevenths relative to the key, chord changes
    names += [
        "a_win_major_minor_mean",
        "a_win_major_minor_std",
        "a_win_major_frac",
        "a_win_key_strength_mean",
        "a_win_key_strength_std",
        "a_chroma_entropy_mean",
        "a_chroma_entropy_std",
        "a_chroma_entropy_global",
    ]
    names += [f"a_interval{k}" for k in range(1, 7)]
    names += ["a_m3_vs_M3", "a_m6_vs_M6", "a_m7_vs_M7", "a_chord_change_mean", "a_chord_change_p90"]
    return tuple(names)


#: The audio model's input: the descriptor vector's column names, in order.
DESCRIPTORS: tuple[str, ...] = _descriptor_names()


def _slow(x: np.ndarray, sr: int, seconds: float = 1.5) -> np.ndarray:
    """Std over texture windows of the window means (rows of ``x``): slow variation."""
    w = max(1, int(seconds * sr / HOP))
    n = x.shape[-1] // w
    if n < 2:
        return np.zeros(x.shape[:-1])
    means = x[..., : n * w].reshape(*x.shape[:-1], n, w).mean(axis=-1)
    return means.std(axis=-1)


def _key(chroma_mean: np.ndarray) -> tuple[int, int, float, float, np.ndarray]:
    """(key pitch class, mode 1 major / 0 minor, strength, major-minor, chroma rotated to key)."""
    c = chroma_mean - chroma_mean.mean()
    if not np.any(np.abs(c) > 1e-9):
        return -1, 1, 0.0, 0.0, np.zeros(12)
    # Pearson correlation with the 12 rotations of both profiles, as one product
    major, minor = _PROFILES @ (c / np.linalg.norm(c))
    if major.max() >= minor.max():
        key, mode, strength = int(major.argmax()), 1, float(major.max())
    else:
        key, mode, strength = int(minor.argmax()), 0, float(minor.max())
    return key, mode, strength, float(major.max() - minor.max()), np.roll(chroma_mean, -key)


def summarize(fr, a: int, b: int, start: float, end: float | None) -> dict[str, float]:
    sl = slice(a, b)
    out: dict[str, float] = {}
    n_seconds = (min(fr.n_samples, int(end * fr.sr)) if end is not None else fr.n_samples) / fr.sr
    n_seconds -= start
    mfcc = fr.mfcc[:, sl]
    logmel = fr.logmel[:, sl]
    vals = {}
    for i in range(N_MFCC):
        vals[f"a_mfcc{i:02d}_mean"] = mfcc[i].mean()
        vals[f"a_mfcc{i:02d}_std"] = mfcc[i].std()
    dm = np.diff(mfcc, axis=1) if mfcc.shape[1] > 1 else np.zeros((N_MFCC, 1))
    for i in range(N_MFCC):
        vals[f"a_dmfcc{i:02d}_std"] = dm[i].std()
    for i in range(N_MELS):
        vals[f"a_mel{i:02d}_mean"] = logmel[i].mean()
        vals[f"a_mel{i:02d}_std"] = logmel[i].std()
    con = fr.contrast[:, sl]
    for i in range(con.shape[0]):
        vals[f"a_contrast{i}_mean"] = con[i].mean()
        vals[f"a_contrast{i}_std"] = con[i].std()
    for j, name in enumerate(("centroid", "bandwidth", "rolloff", "flatness", "zcr", "flux")):
        v = fr.spectral[j, sl]
        if name in ("centroid", "bandwidth", "rolloff"):
            v = np.log1p(v)
        vals[f"a_{name}_mean"] = v.mean()
        vals[f"a_{name}_std"] = v.std()
    chroma = fr.chroma[:, sl]
    cm = chroma.mean(axis=1)
    key, mode, strength, major_minor, rel = _key(cm)
    for p, v in zip(_PITCHES, rel / (rel.sum() + 1e-9), strict=False):
        vals[f"a_chroma_{p}_rel"] = v
    vals["a_chroma_std"] = chroma.std(axis=1).mean()
    vals["a_chroma_flux"] = (
        np.abs(np.diff(chroma, axis=1)).sum(axis=0).mean() if chroma.shape[1] > 1 else 0.0
    )
    ton = tonnetz(chroma)
    for i in range(6):
        vals[f"a_tonnetz{i}_mean"] = ton[i].mean()
        vals[f"a_tonnetz{i}_std"] = ton[i].std()
    vals["a_key_strength"] = strength
    vals["a_major_minor"] = major_minor
    vals["a_mode"] = float(mode)
    rms = fr.rms[sl]
    rms_db = 20 * np.log10(np.maximum(rms, 1e-5))
    p10, p50, p90 = np.percentile(rms_db, [10, 50, 90])
    vals.update(
        {
            "a_rms_db_mean": rms_db.mean(),
            "a_rms_db_std": rms_db.std(),
            "a_rms_db_p10": p10,
            "a_rms_db_p50": p50,
            "a_rms_db_p90": p90,
            "a_dynamic_range": p90 - p10,
            "a_low_energy": float((rms < rms.mean()).mean()),
        }
    )
    whole = a == 0 and end is None and not math.isnan(fr.loudness)
    loud = fr.loudness if whole else _window_loudness(rms_db)
    vals["a_loudness"] = max(-70.0, loud) if np.isfinite(loud) else -70.0
    onset = fr.onset[sl]
    bpm, conf, stats = tempo(onset, fr.sr)
    vals["a_onset_mean"] = onset.mean()
    vals["a_onset_std"] = onset.std()
    vals["a_onset_rate"] = (
        onset_rate(onset, fr.sr) / max(n_seconds, 1e-3) * (len(onset) / max(len(onset), 1))
    )
    vals["a_tempo"] = bpm if np.isfinite(bpm) else 0.0
    vals["a_log_tempo"] = math.log2(bpm / 120.0) if np.isfinite(bpm) and bpm > 0 else 0.0
    vals["a_beat_confidence"] = conf
    vals["a_pulse_max"] = stats["pulse_max"]
    vals["a_pulse_half"] = stats["pulse_half"]
    vals["a_pulse_double"] = stats["pulse_double"]
    vals["a_beat_regularity"] = stats["regularity"]
    vals["a_mod4hz"] = mod4hz(rms, fr.sr)
    for i, v in enumerate(_slow(mfcc[:13], fr.sr)):
        vals[f"a_mfcc{i:02d}_slow"] = v
    for i, v in enumerate(_slow(con, fr.sr)):
        vals[f"a_contrast{i}_slow"] = v
    sp = fr.spectral[:, sl]
    for name, row in (
        ("centroid", np.log1p(sp[0])),
        ("flatness", sp[3]),
        ("flux", sp[5]),
        ("rms", rms_db),
    ):
        vals[f"a_{name}_slow"] = float(_slow(row[None, :], fr.sr)[0])
    for band, env in zip(("low", "mid", "high"), fr.band_onset[:, sl], strict=False):
        vals[f"a_onset_{band}_mean"] = env.mean()
        vals[f"a_onset_{band}_std"] = env.std()
        vals[f"a_onset_{band}_pulse"] = pulse(env, fr.sr)
    for i in range(con.shape[0]):
        pk, va = fr.peak[i, sl] - rms_db, fr.valley[i, sl] - rms_db
        p10, p90 = np.percentile(con[i], [10, 90])
        vals.update(
            {
                f"a_valley{i}_mean": va.mean(),
                f"a_valley{i}_std": va.std(),
                f"a_peak{i}_mean": pk.mean(),
                f"a_peak{i}_std": pk.std(),
                f"a_contrast{i}_p10": p10,
                f"a_contrast{i}_p90": p90,
            }
        )
    vals.update(_tonal(chroma, rel, fr.sr))
    # the reported tempo and key come from the estimators of .rhythm/.key; the descriptors above
    # keep the ones the audio model was trained with
    bpm_out = estimate_tempo(onset, fr.sr)
    key_out, mode_out, strength_out = key, mode, strength
    if fr.hpcp is not None and fr.hpcp.shape[1] >= b - a > 0:
        key_out, mode_out, strength_out = estimate_key(
            fold(fr.hpcp[:, sl].mean(axis=1), complex(fr.tuning[sl].sum()))
        )
    for k in DESCRIPTORS:
        v = float(vals[k])
        out[k] = v if np.isfinite(v) else 0.0
    # the Spotify-style measured columns and flagged estimates
    silent = rms_db.max() <= -90 or (np.isfinite(loud) is False and loud < 0)
    measured = {
        "duration_ms": round(n_seconds * 1000.0, 1),
        "tempo": round(bpm_out, 2) if np.isfinite(bpm_out) and not silent else math.nan,
        "beat_confidence": round(conf, 4) if not silent else 0.0,
        "loudness": round(loud, 2) if np.isfinite(loud) and not silent else math.nan,
        "key": key_out if not silent else -1,
        "mode": mode_out if not silent and key_out >= 0 else math.nan,
        "key_confidence": round(max(strength_out, 0.0), 4) if not silent else 0.0,
    }
    est = _estimates(out, measured, silent)
    return {**measured, **est, **{k: math.nan for k in EMPTY}, **out}


def _tonal(chroma: np.ndarray, rel: np.ndarray, sr: int) -> dict[str, float]:
    """Tonal descriptors beyond the global key: see :func:`_descriptor_names`."""
    fps = sr / HOP
    n = chroma.shape[1]
    w = max(1, int(5 * fps))
    per_win = [_key(chroma[:, s : s + w].mean(axis=1)) for s in range(0, max(1, n - w // 2), w)]
    mm = np.array([major_minor for _, _, _, major_minor, _ in per_win])
    ks = np.array([strength for _, _, strength, _, _ in per_win])
    chn = chroma / (chroma.sum(axis=0, keepdims=True) + 1e-9)
    ent = -(chn * np.log(chn + 1e-9)).sum(axis=0)
    cm = chroma.mean(axis=1)
    cmn = cm / (cm.sum() + 1e-9)
    out = {
        "a_win_major_minor_mean": mm.mean(),
        "a_win_major_minor_std": mm.std(),
        "a_win_major_frac": float((mm > 0).mean()),
        "a_win_key_strength_mean": ks.mean(),
        "a_win_key_strength_std": ks.std(),
        "a_chroma_entropy_mean": ent.mean(),
        "a_chroma_entropy_std": ent.std(),
        "a_chroma_entropy_global": float(-(cmn * np.log(cmn + 1e-9)).sum()),
    }
    for k in range(1, 7):
        out[f"a_interval{k}"] = (chn * np.roll(chn, k, axis=0)).sum(axis=0).mean()
    r = rel / (rel.sum() + 1e-9)
    out.update({"a_m3_vs_M3": r[3] - r[4], "a_m6_vs_M6": r[8] - r[9], "a_m7_vs_M7": r[10] - r[11]})
    if n > 2:
        change = chord_change(chroma, max(1, int(fps / 2)))
        out.update(
            {"a_chord_change_mean": change.mean(), "a_chord_change_p90": np.percentile(change, 90)}
        )
    else:
        out.update({"a_chord_change_mean": 0.0, "a_chord_change_p90": 0.0})
    return out


def chord_change(chroma: np.ndarray, w: int, *, chunk: int = 8192) -> np.ndarray:
    """1 - cosine similarity of successive ``w``-frame smoothed chroma vectors, computed in chunks
    of frames (a 3-hour track would otherwise need ~250 MB of float64 temporaries).
    """
    n = chroma.shape[1]
    out = np.empty(n - 1)
    for a in range(0, n - 1, chunk):
        b = min(n, a + chunk + 1)  # columns a .. b-1 give the pairs a .. b-2
        lo, hi = max(0, a - w), min(n, b + w)
        cs = moving_mean(chroma[:, lo:hi], w, axis=1)[:, a - lo : b - lo]
        cs /= np.linalg.norm(cs, axis=0, keepdims=True) + 1e-9
        out[a : b - 1] = 1 - (cs[:, 1:] * cs[:, :-1]).sum(axis=0)
    return out


def _estimates(d: dict, m: dict, silent: bool) -> dict[str, float]:
    """Heuristic stand-ins for two of Spotify's learned columns (flagged ``_est``)."""
    if silent:
        return {"energy_est": 0.0, "danceability_est": 0.0}

    def squash(x, lo, hi):
        return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))

    loud = m["loudness"] if np.isfinite(m["loudness"]) else -70.0
    energy = (
        0.45 * squash(loud, -30.0, -5.0)
        + 0.25 * squash(d["a_onset_rate"], 0.5, 6.0)
        + 0.15 * squash(d["a_centroid_mean"], math.log1p(800), math.log1p(4000))
        + 0.15 * squash(d["a_flatness_mean"], 0.0, 0.3)
    )
    tempo = m["tempo"] if np.isfinite(m["tempo"]) else 0.0
    tempo_fit = math.exp(-0.5 * (math.log2(max(tempo, 1.0) / 118.0) / 0.35) ** 2)
    dance = 0.5 * d["a_beat_confidence"] + 0.3 * tempo_fit + 0.2 * d["a_beat_regularity"]
    return {
        "energy_est": round(energy, 4),
        "danceability_est": round(float(np.clip(dance, 0, 1)), 4),
    }


def _window_loudness(rms_db: np.ndarray) -> float:
    """Approximate loudness of a window (ungated mean power of the frames, in dB)."""
    power = np.mean(10 ** (rms_db / 10))
    return float(10 * np.log10(power) - 0.691) if power > 0 else -math.inf


def key_name(key: int, mode: float) -> str:
    """``'A major'`` for ``(9, 1)``; ``''`` when the key is unknown.

    >>> key_name(9, 1), key_name(0, 0), key_name(-1, 1)
    ('A major', 'C minor', '')
    """
    if key is None or not np.isfinite(key) or key < 0:
        return ""
    return f"{_PITCHES[int(key)]} {'major' if mode == 1 else 'minor'}"
