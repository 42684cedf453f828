"""How good are trackmood's tempo and key? Side by side with Essentia (AcousticBrainz's engine).

    python benchmarks/bench_tempo_key.py            # the report (first run ~20 min, cached after)
    python benchmarks/bench_tempo_key.py --select   # + the settings compared on the selection half
    python benchmarks/bench_tempo_key.py --generated 48

On the 500 audio_4q clips: agreement with Essentia (``RhythmExtractor2013`` multifeature BPM,
``Key`` with the ``temperley`` profile as AcousticBrainz ran it; see ``tempo_key_refs.py``), for
trackmood before this work ("baseline": librosa-style tempo and Krumhansl key on the STFT chroma)
and now. The clips are split in two halves by artist (an MD5 of the artist name): settings were
chosen on the *selection* half only (``--select`` prints that comparison) and figures are
reported on the *report* half. On generated music of known tempo and key (``tests/synth_music.py``)
both trackmood and Essentia are scored against the truth, so that where they disagree we know who
is right. Essentia's and the baseline's per-clip results are cached in ``benchmarks/.cache/``.

Tempo agreement: within 4 % of the other's tempo times 1, 2, 1/2, 3 or 1/3. Key agreement: same
tonic and mode. MIREX score (mir_eval's weights, the first key taken as the reference): same 1,
estimate a fifth above 0.5, relative 0.3, parallel 0.2, else 0. CPU seconds are process time
(the machine is shared; wall time would mislead).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tempo_key_lab import HPCP_VARIANTS, REPORT_VARIANTS, RUNTIME_VARIANT, features
from tempo_key_refs import CACHE, audio22, clips, cpu, essentia_estimate, essentia_table

RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def tempo_agrees(a: float, b: float, ratios=RATIOS, tol: float = 0.04) -> bool:
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0 or b <= 0:
        return False
    return any(abs(a - r * b) <= tol * r * b for r in ratios)


def mirex(ref_key: int, ref_mode: int, key: int, mode: int) -> float:
    """MIREX weighted key score (mir_eval.key.weighted_score's rules)."""
    if key < 0 or ref_key < 0:
        return 0.0
    if key == ref_key and mode == ref_mode:
        return 1.0
    if mode == ref_mode and (key - ref_key) % 12 == 7:
        return 0.5
    if ref_mode == 1 and mode == 0 and (key - ref_key) % 12 == 9:
        return 0.3
    if ref_mode == 0 and mode == 1 and (key - ref_key) % 12 == 3:
        return 0.3
    if key == ref_key:
        return 0.2
    return 0.0


def half(artist: str) -> str:
    h = int(hashlib.md5(artist.strip().lower().encode()).hexdigest()[:8], 16)
    return "select" if h % 2 == 0 else "report"


def scores(pairs) -> dict:
    """pairs: [(ref_bpm, bpm, ref_key, ref_mode, key, mode)] -> agreement figures."""
    if not pairs:
        return {"n": 0, "tempo": np.nan, "tempo_x1": np.nan, "key": np.nan, "mirex": np.nan}
    t = [tempo_agrees(b, rb) for rb, b, *_ in pairs]
    t1 = [tempo_agrees(b, rb, (1.0,)) for rb, b, *_ in pairs]
    k = [(kk == rk and m == rm) for _, _, rk, rm, kk, m in pairs]
    mx = [mirex(int(rk), int(rm), int(kk), int(m)) for _, _, rk, rm, kk, m in pairs]
    return {
        "n": len(pairs),
        "tempo": 100 * np.mean(t),
        "tempo_x1": 100 * np.mean(t1),
        "key": 100 * np.mean(k),
        "mirex": float(np.mean(mx)),
    }


def _line(name: str, s: dict, extra: str = "") -> str:
    return (
        f"| {name} | {s['n']} | {s['tempo']:.1f} | {s['tempo_x1']:.1f} | {s['key']:.1f} "
        f"| {s['mirex']:.3f} |{extra}"
    )


def report_clips(rows, ess, *, select: str | None) -> None:
    from trackmood.audio import key as keymod
    from trackmood.audio import rhythm

    sub = [r for r in rows if half(r["artist"]) == "report"]
    print(
        f"\n## audio_4q clips, report half ({len(sub)} clips, artists not in the selection half): "
        "agreement with Essentia (AcousticBrainz settings)\n"
    )
    print("| trackmood | clips | tempo agrees % | same tempo (x1) % | key agrees % | MIREX |")
    print("|---|---|---|---|---|---|")
    before, now = [], []
    for r in sub:
        e, f = ess[r["song"]], features(r["song"], r["path"], REPORT_VARIANTS)
        ref = (e["es_bpm"], e["es_key"], e["es_mode"])
        before.append((ref[0], f["base"][0], ref[1], ref[2], f["base"][1], f["base"][2]))
        v = RUNTIME_VARIANT
        k, m, _ = keymod.estimate(keymod.fold(f[f"hpcp_{v}"], complex(f[f"phasor_{v}"])))
        now.append((ref[0], rhythm.estimate_tempo(f["onset"]), ref[1], ref[2], k, m))
    print(_line("before", scores(before)))
    print(_line("**now**", scores(now)))
    timing(sub[:20], ess)
    if select:
        selection(rows, ess, full=select == "full")


def timing(sub, ess) -> None:
    """CPU seconds per clip of each part, before and now, on the same clips in one run."""
    from tempo_key_lab import stft

    from trackmood.audio import descriptors, rhythm
    from trackmood.audio import key as keymod
    from trackmood.audio.frames import analyze

    t = np.zeros(6)
    for r in sub:
        y = audio22(r["song"], r["path"])
        S, freqs = stft(y)
        c = [cpu()]
        fr = analyze(y)
        c.append(cpu())
        rhythm.tempo(fr.onset, fr.sr)
        c.append(cpu())
        descriptors._key(fr.chroma.mean(axis=1))
        c.append(cpu())
        rhythm.estimate_tempo(fr.onset, fr.sr)
        c.append(cpu())
        keymod.hpcp_frames(S, freqs)
        c.append(cpu())
        keymod.estimate(keymod.fold(fr.hpcp.mean(axis=1), complex(fr.tuning.sum())))
        c.append(cpu())
        t += np.diff(c)
    t /= len(sub)
    ecpu = np.mean([[ess[r["song"]]["es_cpu_tempo"], ess[r["song"]]["es_cpu_key"]] for r in sub], 0)
    print(f"\nCPU s per 30-s clip (process time, mean of {len(sub)} clips, shared machine):\n")
    print("| part | before | now | Essentia |")
    print("|---|---|---|---|")
    print(
        f"| frame analysis (STFT, bands, chroma; now + HPCP) | {t[0] - t[4]:.3f} | {t[0]:.3f} | – |"
    )
    print(f"| tempo | {t[1]:.3f} | {t[3]:.3f} | {ecpu[0]:.2f} |")
    print(f"| key (after the frames) | {t[2]:.4f} | {t[5]:.4f} | {ecpu[1]:.3f} |")
    print(
        "\n(The 36-bin HPCP now computed with the frames is timed alone on the same STFT; the "
        "descriptors still use the old tempo and key, so the summary runs both.)"
    )


def selection(rows, ess, *, full: bool = False) -> None:
    """The settings compared on the selection half (the chosen ones are the defaults)."""
    from trackmood.audio import key as keymod
    from trackmood.audio import rhythm

    sub = [r for r in rows if half(r["artist"]) == "select"]
    if not full:  # the clips whose intermediate results are cached (the rest cost ~1 s each)
        sub = [r for r in sub if (CACHE / "lab" / f"{r['song']}.npz").exists()]
    feats = [(ess[r["song"]], features(r["song"], r["path"])) for r in sub]
    b = scores(
        [(e["es_bpm"], f["base"][0], e["es_key"], e["es_mode"], *f["base"][1:]) for e, f in feats]
    )
    print(
        f"\nSelection half, before: tempo {b['tempo']:.1f} %, key {b['key']:.1f} %, MIREX {b['mirex']:.3f}."
    )
    print(f"\n## Selection half ({len(sub)} clips): key settings (agreement with Essentia)\n")
    print("| HPCP (harmonics, Hz, e=energy/m=magnitude) | profile | key % | MIREX |")
    print("|---|---|---|---|")
    for v in HPCP_VARIANTS:
        for prof in keymod.PROFILES:
            pairs = []
            for e, f in feats:
                chroma = keymod.fold(f[f"hpcp_{v}"], complex(f[f"phasor_{v}"]))
                k, m, _ = keymod.estimate(chroma, prof)
                pairs.append((0, 0, e["es_key"], e["es_mode"], k, m))
            s = scores(pairs)
            print(f"| {v} | {prof} | {s['key']:.1f} | {s['mirex']:.3f} |")
    print(f"\n## Selection half ({len(sub)} clips): tempo settings (agreement with Essentia)\n")
    print("| prior BPM | prior octaves | harmonics | tempo % | x1 % |")
    print("|---|---|---|---|---|")
    for prior in (100.0, 120.0):
        for width in (1.0, 1.5, 2.0):
            for harm in (1, 2, 4):
                pairs = []
                for e, f in feats:
                    kw = {"prior_bpm": prior, "prior_octaves": width, "harmonics": harm}
                    pairs.append((e["es_bpm"], rhythm.estimate_tempo(f["onset"], **kw), 0, 0, 0, 0))
                s = scores(pairs)
                print(
                    f"| {prior:g} | {width:g} | {harm} | {s['tempo']:.1f} | {s['tempo_x1']:.1f} |"
                )


def report_generated(n: int) -> None:
    import soxr
    from synth_music import render, suite

    from trackmood.audio import descriptors, rhythm
    from trackmood.audio.frames import analyze

    specs = suite(n)
    res = {"essentia": [], "before": [], "now": []}
    pair = []
    for s in specs:
        y = render(s)
        e = essentia_estimate(y)
        fr = analyze(soxr.resample(y, 44100, 22050))
        now = fr.summary()
        old_bpm = rhythm.tempo(fr.onset, fr.sr)[0]
        ok, om, _, _, _ = descriptors._key(fr.chroma.mean(axis=1))
        truth = (s.bpm, s.tonic, s.mode)
        res["essentia"].append((*truth[:1], e["es_bpm"], *truth[1:], e["es_key"], e["es_mode"]))
        res["before"].append((*truth[:1], old_bpm, *truth[1:], ok, om))
        res["now"].append((*truth[:1], now["tempo"], *truth[1:], now["key"], now["mode"]))
        pair.append((e, now, truth))
    print(
        f"\n## Generated music of known tempo and key ({n} clips: 60-180 BPM, 4 drum patterns, "
        "4 timbres, SNR 6-30 dB, tuning offsets)\n"
    )
    print(
        "| estimator | clips | tempo right % (x2, x1/2, x3, x1/3 allowed) | exact tempo % | key right % | MIREX |"
    )
    print("|---|---|---|---|---|---|")
    for name, pairs in res.items():
        s = scores(pairs)
        print(
            f"| {name} | {s['n']} | {s['tempo']:.1f} | {s['tempo_x1']:.1f} | {s['key']:.1f} | {s['mirex']:.3f} |"
        )
    # where trackmood (now) and Essentia disagree, who is right?
    tw = {"trackmood": 0, "essentia": 0, "neither": 0}
    kw = {"trackmood": 0, "essentia": 0, "neither": 0}
    for e, now, (bpm, k, m) in pair:
        if not tempo_agrees(now["tempo"], e["es_bpm"]):
            a, b = tempo_agrees(now["tempo"], bpm), tempo_agrees(e["es_bpm"], bpm)
            tw["trackmood" if a else "essentia" if b else "neither"] += 1
        if (now["key"], now["mode"]) != (e["es_key"], e["es_mode"]):
            a = (now["key"], now["mode"]) == (k, m)
            b = (e["es_key"], e["es_mode"]) == (k, m)
            kw["trackmood" if a else "essentia" if b else "neither"] += 1
    print(f"\nDisagreements on generated music, who is right: tempo {tw}; key {kw}.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--select",
        nargs="?",
        const="cached",
        choices=["cached", "full"],
        help="print the selection-half comparison (on the clips cached so far, or all of them)",
    )
    ap.add_argument("--generated", type=int, default=48, help="generated clips (0: none)")
    ap.add_argument("--no-clips", action="store_true", help="only the generated music")
    args = ap.parse_args()
    if not args.no_clips:
        rows = clips()
        if not rows:
            sys.exit(f"no audio_4q clips under {CACHE.parents[2].parent / 'shared' / 'data'}")
        ess = essentia_table(rows)
        report_clips(rows, ess, select=args.select)
    if args.generated:
        report_generated(args.generated)


if __name__ == "__main__":
    main()
