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
import csv
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tempo_key_lab import HPCP_VARIANTS, features
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


# -- trackmood as it is now: the runtime path, per clip, cached by a code fingerprint ------------
def _fingerprint() -> str:
    h = hashlib.md5()
    for name in ("rhythm.py", "key.py", "descriptors.py", "frames.py"):
        h.update((ROOT / "src" / "trackmood" / "audio" / name).read_bytes())
    return h.hexdigest()[:10]


def current_table(rows) -> dict[str, dict]:
    """Per clip: trackmood now (the runtime path: frames, then the summary's tempo and key) and
    before (the old estimators on the same frames), with CPU seconds; cached per code version.
    """
    from trackmood.audio import descriptors, rhythm
    from trackmood.audio import key as keymod
    from trackmood.audio.frames import analyze

    path = CACHE / f"current-{_fingerprint()}.csv"
    cols = ["bpm", "key", "mode", "old_bpm", "old_key", "old_mode"]
    cols += ["cpu_frames", "cpu_tempo", "cpu_key", "cpu_old_tempo", "cpu_old_key"]
    done = {}
    if path.exists():
        with open(path, newline="") as f:
            done = {
                r["song"]: {k: float(v) for k, v in r.items() if k != "song"}
                for r in csv.DictReader(f)
            }
    todo = [r for r in rows if r["song"] not in done]
    if todo:
        with open(path, "a", newline="") as f:
            w = csv.writer(f)
            if not done:
                w.writerow(["song", *cols])
            for i, r in enumerate(todo):
                y = audio22(r["song"], r["path"])
                t0 = cpu()
                fr = analyze(y)
                t1 = cpu()
                s = fr.summary()  # the runtime path; its tempo and key parts are timed below
                t2 = cpu()
                rhythm.estimate_tempo(fr.onset)
                t3 = cpu()
                keymod.estimate(keymod.fold(fr.hpcp.mean(axis=1), complex(fr.tuning.sum())))
                t4 = cpu()
                ob = rhythm.tempo(fr.onset, fr.sr)[0]
                t5 = cpu()
                ok, om, _, _, _ = descriptors._key(fr.chroma.mean(axis=1))
                t6 = cpu()
                res = [s["tempo"], s["key"], s["mode"], ob, ok, om]
                res += [t1 - t0, t3 - t2, t4 - t3, t5 - t4, t6 - t5]
                w.writerow([r["song"], *res])
                f.flush()
                done[r["song"]] = dict(zip(cols, res, strict=True))
                if i % 25 == 0:
                    print(f"trackmood {i}/{len(todo)}", file=sys.stderr)
    return done


def _line(name: str, s: dict, extra: str = "") -> str:
    return (
        f"| {name} | {s['n']} | {s['tempo']:.1f} | {s['tempo_x1']:.1f} | {s['key']:.1f} "
        f"| {s['mirex']:.3f} |{extra}"
    )


def report_clips(rows, ess, *, select: bool) -> None:
    from tempo_key_lab import stft

    from trackmood.audio import key as keymod

    sub = [r for r in rows if half(r["artist"]) == "report"]
    cur = current_table(sub)
    print(
        f"\n## audio_4q clips, report half ({len(sub)} clips, artists not in the selection half): "
        "agreement with Essentia (AcousticBrainz settings)\n"
    )
    print(
        "| trackmood | clips | tempo agrees % | same tempo (x1) % | key agrees % | MIREX "
        "| CPU s / clip: tempo, key |"
    )
    print("|---|---|---|---|---|---|---|")
    before, now = [], []
    for r in sub:
        e, c = ess[r["song"]], cur[r["song"]]
        ref = (e["es_bpm"], e["es_key"], e["es_mode"])
        before.append((ref[0], c["old_bpm"], ref[1], ref[2], c["old_key"], c["old_mode"]))
        now.append((ref[0], c["bpm"], ref[1], ref[2], c["key"], c["mode"]))
    m = {k: np.mean([cur[r["song"]][k] for r in sub]) for k in next(iter(cur.values()))}
    print(_line("before", scores(before), f" {m['cpu_old_tempo']:.3f}, {m['cpu_old_key']:.4f} |"))
    print(_line("**now**", scores(now), f" {m['cpu_tempo']:.3f}, {m['cpu_key']:.4f} + HPCP |"))
    ecpu = np.mean([[ess[r["song"]]["es_cpu_tempo"], ess[r["song"]]["es_cpu_key"]] for r in sub], 0)
    print(f"\nEssentia CPU s / clip (from 44.1 kHz audio): tempo {ecpu[0]:.2f}, key {ecpu[1]:.3f}.")
    y = audio22(sub[0]["song"], sub[0]["path"])
    S, freqs = stft(y)
    t0 = cpu()
    for _ in range(5):
        keymod.hpcp_frames(S, freqs)
    hp = (cpu() - t0) / 5
    print(
        f"trackmood frame analysis CPU s / clip now {m['cpu_frames']:.3f}, of which the 36-bin "
        f"HPCP (new) ~{hp:.3f}, timed alone; the old key read the chroma the frames had anyway."
    )
    if select:
        selection(rows, ess)


def selection(rows, ess) -> None:
    """The settings compared on the selection half (the chosen ones are the defaults)."""
    from trackmood.audio import key as keymod
    from trackmood.audio import rhythm

    sub = [r for r in rows if half(r["artist"]) == "select"]
    feats = [(ess[r["song"]], features(r["song"], r["path"])) for r in sub]
    b = scores(
        [(e["es_bpm"], f["base"][0], e["es_key"], e["es_mode"], *f["base"][1:]) for e, f in feats]
    )
    print(
        f"\nSelection half, before: tempo {b['tempo']:.1f} %, key {b['key']:.1f} %, MIREX {b['mirex']:.3f}."
    )
    print(f"\n## Selection half ({len(sub)} clips): key settings (agreement with Essentia)\n")
    print("| HPCP | profile | fifth | key % | MIREX |")
    print("|---|---|---|---|---|")
    for v in HPCP_VARIANTS:
        for prof in keymod.PROFILES:
            for fifth in (0.0, 0.3):
                pairs = []
                for e, f in feats:
                    k, m, _ = keymod.estimate(
                        keymod.fold(f[f"hpcp_{v}"], complex(f[f"phasor_{v}"])), prof, fifth
                    )
                    pairs.append((0, 0, e["es_key"], e["es_mode"], k, m))
                s = scores(pairs)
                print(f"| {v} | {prof} | {fifth} | {s['key']:.1f} | {s['mirex']:.3f} |")
    print(f"\n## Selection half ({len(sub)} clips): tempo settings (agreement with Essentia)\n")
    print("| prior BPM | prior octaves | harmonics | refine | tempo % | x1 % |")
    print("|---|---|---|---|---|---|")
    for prior in (100.0, 120.0):
        for width in (0.5, 1.0):
            for harm in (1, 2, 4):
                for refine in (False, True):
                    pairs = []
                    for e, f in feats:
                        b = rhythm.estimate_tempo(
                            f["onset"],
                            prior_bpm=prior,
                            prior_octaves=width,
                            harmonics=harm,
                            refine=refine,
                        )
                        pairs.append((e["es_bpm"], b, 0, 0, 0, 0))
                    s = scores(pairs)
                    print(
                        f"| {prior:g} | {width:g} | {harm} | {refine} | {s['tempo']:.1f} | {s['tempo_x1']:.1f} |"
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
    ap.add_argument("--select", action="store_true", help="print the selection-half comparison")
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
