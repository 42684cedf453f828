"""Convert musicnn's MSD_musicnn or MTT_musicnn model (Pons & Serra, ISMIR LBD 2019; ISC licence)
to ONNX, once.

Runs in its OWN throwaway environment, never in trackmood's::

    python3.11 -m venv /work/tfenv
    /work/tfenv/bin/pip install tensorflow-cpu==2.15.1 tf2onnx onnx==1.16.2 numpy==1.26.4 \
        librosa==0.10.2.post1 soundfile
    /work/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /work/tfenv/bin/python scripts/convert_musicnn.py                        # MSD_musicnn
    /work/tfenv/bin/python scripts/convert_musicnn.py --model MTT_musicnn    # MagnaTagATune

(onnx 1.19 needs a newer ml_dtypes than TensorFlow 2.15 allows; 1.16.2 works.) The output folder
defaults to ``src/trackmood/models/musicnn`` (MSD) or ``src/trackmood/models/musicnn-mtt`` (MTT);
a second positional argument overrides it.

It builds the graph with ``musicnn.models.define_model(x, False, MODEL, 50)`` (inference
mode: batch norm uses its moving averages, dropout is off), restores the checkpoint shipped in the
musicnn wheel (``musicnn/MODEL/``), freezes it and exports ``msd_musicnn.onnx`` or
``mtt_musicnn.onnx`` (both 50 tags, 200-d penultimate layer) with input ``patches``
``[batch, 187, 96]`` (log-mel patches) and outputs ``logits`` ``[batch, 50]``, ``tags``
(sigmoid of the logits) and ``penultimate`` ``[batch, 200]``.

It also writes ``reference.npz``: a deterministic synthetic signal's parameters, the log-mel
patches musicnn's own front end (``musicnn.extractor.batch_data``, librosa) computes from it, and
the ORIGINAL TensorFlow model's outputs for those patches and for a few seeded random patches.
trackmood's tests check its numpy front end and the ONNX graph against these values.
``musicnn.json`` records the model, its front end, its 50 tag names and the converting versions.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

N_FRAMES = 187
N_MELS = 96
SR = 16000
#: The deterministic test signal: 7 s of a chord with vibrato, a pulsed noise band and a sweep.
SIGNAL_SECONDS = 7.0
#: The models musicnn 0.1.0 ships with a 200-d penultimate layer -> default output folder.
MODELS = {
    "MSD_musicnn": "src/trackmood/models/musicnn",
    "MTT_musicnn": "src/trackmood/models/musicnn-mtt",
}


def reference_signal(sr: int = SR, seconds: float = SIGNAL_SECONDS) -> np.ndarray:
    """A deterministic test signal; trackmood's tests rebuild it with the same formula."""
    t = np.arange(int(sr * seconds)) / sr
    y = np.zeros_like(t)
    for f, a in ((220.0, 0.2), (277.18, 0.15), (329.63, 0.12), (440.0, 0.08)):
        y += a * np.sin(2 * np.pi * f * t + 3.0 * np.sin(2 * np.pi * 5.0 * t) / 5.0)
    sweep = 0.05 * np.sin(2 * np.pi * (100.0 * t + 200.0 * t**2))  # 100 Hz .. 2900 Hz
    pulses = (np.sin(2 * np.pi * 2.0 * t) > 0.6).astype(float)
    rng = np.random.default_rng(20191104)
    noise = 0.05 * rng.standard_normal(len(t)) * pulses
    return (y + sweep + noise).astype(np.float32)


def main(out_dir: str, model: str = "MSD_musicnn") -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import musicnn
    import soundfile as sf
    import tensorflow as tf
    import tf2onnx
    from musicnn import configuration as config
    from musicnn import extractor, models

    tf.compat.v1.disable_eager_execution()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = str(Path(musicnn.__file__).parent / model) + "/"
    labels = {"MSD_musicnn": config.MSD_LABELS, "MTT_musicnn": config.MTT_LABELS}[model]

    # the graph, in inference mode (python False: no training branches in the frozen graph)
    graph = tf.Graph()
    with graph.as_default():
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS], name="patches")
            (logits, *_rest, penultimate) = models.define_model(x, False, model, 50)
        logits = tf.identity(logits, name="logits")
        tags = tf.identity(tf.nn.sigmoid(logits), name="tags")
        penultimate = tf.identity(penultimate, name="penultimate")
        sess = tf.compat.v1.Session(graph=graph)
        tf.compat.v1.train.Saver().restore(sess, ckpt)

        # reference inputs: musicnn's own front end on the synthetic signal, plus random patches
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "reference.wav"
            sf.write(wav, reference_signal(), SR, subtype="FLOAT")
            mel_patches, _ = extractor.batch_data(str(wav), N_FRAMES, N_FRAMES)
        mel_patches = mel_patches.astype(np.float32)
        rng = np.random.default_rng(7)
        random_patches = rng.uniform(0.0, 3.0, size=(2, N_FRAMES, N_MELS)).astype(np.float32)
        feeds = {"mel": mel_patches, "random": random_patches}
        ref = {}
        for name, batch in feeds.items():
            lg, tg, pen = sess.run([logits, tags, penultimate], feed_dict={x: batch})
            ref[f"{name}_patches"] = batch
            ref[f"{name}_logits"] = lg.astype(np.float32)
            ref[f"{name}_tags"] = tg.astype(np.float32)
            ref[f"{name}_penultimate"] = pen.astype(np.float32)

        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["logits", "tags", "penultimate"]
        )

    onnx_path = out / f"{model.lower()}.onnx"
    tf2onnx.convert.from_graph_def(
        frozen,
        input_names=["model/patches:0"],
        output_names=["logits:0", "tags:0", "penultimate:0"],
        opset=13,
        output_path=str(onnx_path),
    )
    _rename_io(onnx_path)
    np.savez_compressed(
        out / "reference.npz",
        **ref,
        signal_sr=np.int64(SR),
        signal_seconds=np.float64(SIGNAL_SECONDS),
    )
    meta = {
        "model": model,
        "source": f"musicnn 0.1.0 (PyPI), checkpoint musicnn/{model}/",
        "onnx": onnx_path.name,
        "input": {"name": "patches", "shape": ["batch", N_FRAMES, N_MELS]},
        "outputs": {
            "logits": ["batch", 50],
            "tags": ["batch", 50],
            "penultimate": ["batch", 200],
        },
        "front_end": {
            "sr": config.SR,
            "n_fft": config.FFT_SIZE,
            "hop": config.FFT_HOP,
            "n_mels": config.N_MELS,
            "log": "log10(10000 * mel + 1), mel cast to float16 first (as musicnn)",
            "patch_frames": N_FRAMES,
        },
        "tags": list(labels),
        "converted_with": {
            "tensorflow": tf.__version__,
            "tf2onnx": tf2onnx.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
        },
        "reference_signal": "scripts/convert_musicnn.py:reference_signal()",
    }
    (out / "musicnn.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB) and reference.npz")
    return 0


def _rename_io(path: Path) -> None:
    """Plain names for the graph's input and outputs (``patches``, ``logits``, ...)."""
    import onnx

    m = onnx.load(str(path))
    names = {v.name: v.name.split("/")[-1].split(":")[0] for v in [*m.graph.input, *m.graph.output]}
    for node in m.graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    for v in [*m.graph.input, *m.graph.output]:
        v.name = names[v.name]
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def _cli(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Convert a musicnn model to ONNX (see the docstring).")
    ap.add_argument("out_dir", nargs="?", help="output folder (default: by model)")
    ap.add_argument("--model", choices=sorted(MODELS), default="MSD_musicnn")
    args = ap.parse_args(argv)
    return main(args.out_dir or MODELS[args.model], args.model)


if __name__ == "__main__":
    raise SystemExit(_cli(sys.argv[1:]))
