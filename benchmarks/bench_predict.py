"""Predict-path speed and memory: cold CLI predict, in-process batch scoring, streaming a 10 M-row Parquet file.

Run: ``python benchmarks/bench_predict.py [--rows 10000000]``. Prints figures beside their targets
(issue #2): cold predict of one track < 0.5 s wall; batch scoring >= 1 M rows/s; 10 M rows streamed
in < 500 MB RSS. The baseline beside batch scoring is the original Keras model's ``predict``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ARGS = [
    "--feature",
    "duration_ms=200000,danceability=0.5,acousticness=0.5,energy=0.5,"
    "instrumentalness=0,liveness=0.1,valence=0.5,loudness=-8,speechiness=0.05,tempo=120",
]


def cold_predict(runs: int = 7) -> tuple[float, list[str]]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "trackmood", "predict", *EXAMPLE_ARGS],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - t)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, trackmood.cli, trackmood.pipeline;"
            "print(','.join(m for m in ('tensorflow','keras','librosa','torch','sklearn',"
            "'fastapi','spotipy','dask') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return statistics.median(times), [m for m in probe.stdout.strip().split(",") if m]


def random_features(n: int, seed: int = 0):
    import pandas as pd

    from trackmood.features import MODEL_FEATURES

    rng = np.random.default_rng(seed)
    cols = {}
    for f in MODEL_FEATURES:
        lo, hi = (
            (60_000, 480_000)
            if f.name == "duration_ms"
            else (-30, 0)
            if f.name == "loudness"
            else (60, 180)
            if f.name == "tempo"
            else (f.low, f.high)
        )
        cols[f.name] = rng.uniform(lo, hi, n).astype(np.float32).astype(np.float64)
    return pd.DataFrame(cols)


def batch_rate(n: int = 1_000_000) -> dict[str, float]:
    from trackmood import load_model, predict_frame

    df = random_features(n)
    out = {}
    for name in ("default", "original"):
        model = load_model(name)
        X = df[model.features].to_numpy()
        model.predict_proba(X[:1000])
        t = time.perf_counter()
        model.predict_proba(X)
        out[f"{name}: runtime predict_proba"] = n / (time.perf_counter() - t)
    model = load_model("default")
    t = time.perf_counter()
    predict_frame(model, df)
    out["default: predict_frame (validate + assemble)"] = n / (time.perf_counter() - t)
    return out


def keras_baseline(n: int = 1_000_000) -> float | None:
    """The seed's way of predicting: the Keras model's predict on the same rows."""
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
    except ImportError:
        return None
    from trackmood import load_model

    m = load_model("original")
    layers = m.runtime.members[0]
    net = keras.Sequential(
        [keras.Input((len(m.features),))]
        + [
            keras.layers.Dense(
                layer.W.shape[1], activation="softmax" if i == len(layers) - 1 else layer.activation
            )
            for i, layer in enumerate(layers)
        ]
    )
    for layer, dense in zip(net.layers, layers, strict=False):
        layer.set_weights([dense.W, dense.b])
    X = m.runtime.transform(random_features(n)[m.features].to_numpy())
    net.predict(X[:1000], verbose=0, batch_size=200)
    t = time.perf_counter()
    net.predict(X, verbose=0, batch_size=200)  # the seed's batch size
    return n / (time.perf_counter() - t)


def stream_parquet(rows: int) -> tuple[float, float, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "big.parquet"
        writer = None
        step = 1_000_000
        for s in range(0, rows, step):
            df = random_features(min(step, rows - s), seed=s)
            table = pa.Table.from_pandas(df, preserve_index=False)
            writer = writer or pq.ParquetWriter(src, table.schema)
            writer.write_table(table)
        writer.close()
        out = Path(d) / "pred.parquet"
        # Peak RSS from /proc (VmHWM): getrusage's ru_maxrss survives fork+exec and would report
        # this benchmark's own (large) footprint instead of the child's.
        code = (
            "import time; from trackmood import predict_table; t=time.perf_counter();"
            f"n=predict_table({str(src)!r}, out={str(out)!r}); secs=time.perf_counter()-t;"
            "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
            "print(n, secs, int(hwm)/1024)"
        )
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        n, secs, rss = r.stdout.split()
        assert int(n) == rows and pq.ParquetFile(out).metadata.num_rows == rows
        return float(secs), float(rss), src.stat().st_size / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--rows", type=int, default=10_000_000, help="rows in the streamed Parquet file"
    )
    ap.add_argument("--no-keras", action="store_true", help="skip the Keras baseline")
    args = ap.parse_args()

    wall, heavy = cold_predict()
    print(f"cold `trackmood predict` of one track (median of 7): {wall:.3f} s   target < 0.5 s")
    print(f"  heavy modules imported on the predict path: {', '.join(heavy) or 'none'}")
    rates = batch_rate()
    keras_rate = None if args.no_keras else keras_baseline()
    for k, v in rates.items():
        print(f"batch scoring, 1 M rows, {k}: {v / 1e6:.2f} M rows/s   target >= 1 M rows/s")
    if keras_rate:
        ratio = rates["original: runtime predict_proba"] / keras_rate
        print(
            f"  baseline: Keras model.predict (batch 200) of the same network: {keras_rate / 1e6:.3f} M rows/s "
            f"(numpy runtime is {ratio:.0f}x faster)"
        )
    secs, rss, mb = stream_parquet(args.rows)
    print(
        f"streamed {args.rows:,}-row Parquet ({mb:.0f} MB) -> Parquet predictions: {secs:.1f} s, "
        f"{args.rows / secs / 1e6:.2f} M rows/s, peak RSS {rss:.0f} MB   target < 500 MB"
    )


if __name__ == "__main__":
    main()
