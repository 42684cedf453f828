"""Do the feature models hold on tables they never saw? Pooled vs data_moods-only, side by side.

Usage (from the project root)::

    python benchmarks/bench_transfer.py [../shared/data] [--quick] [--only default]

For each bundled feature recipe (``default``: data_moods + jdruii + bettinasosa; ``default-
noduration``: the same plus bdizon happy/sad; label maps in ``trackmood.model.bundled``) it prints

- data_moods 5×10 stratified CV, the other tables joining every training fold (ids shared with
  data_moods removed from them);
- leave-one-table-out: trained on all tables but one (ids of the held-out table removed from the
  training side), scored on the held-out table, per table and the mean over tables;
- expected calibration error in-domain (out-of-fold CV rows) and leave-one-table-out (mean over
  tables), raw and after temperature scaling, and the confident/uncertain split at the
  ``uncertain_below`` threshold; temperature and threshold are fitted on the other tables only
  (nested), and the temperature is kept only if an inner leave-one-table-out says it helps;

and beside them the OLD recipe, trained on data_moods.csv alone: its data_moods CV, and its
accuracy and ECE on every other table (rows whose id is in data_moods removed from the scored table).
Hyper-parameters are the recipe's fixed ones (chosen before, see bench_models.py --select); no
choice is made on the scored rows. ``--quick``: 1×5 CV instead of 5×10.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np
import pandas as pd

from trackmood.datasets import deduplicate
from trackmood.model.bundled import RECIPES, sources
from trackmood.model.calibration import apply_temperature, calibrate_tables, ece, fit_temperature
from trackmood.model.cv import cross_validate, fit_predict, leave_one_table_out
from trackmood.model.train import table_frames


def pct(v) -> str:
    return "n/a" if v is None or v != v else f"{100 * v:.1f}"


def idx(classes, y) -> np.ndarray:
    return np.array([classes.index(m) for m in y])


def bench(name: str, data: Path, folds: int, repeats: int) -> None:
    kind, features, files = RECIPES[name]
    tables = table_frames(sources(data, files), features)
    t0 = time.perf_counter()
    primary = tables["data_moods"]
    others = {n: t for n, t in tables.items() if n != "data_moods"}
    extra = deduplicate(pd.concat(others.values(), ignore_index=True))[0]
    pooled_cv = cross_validate(
        primary, kind=kind, features=features, folds=folds, repeats=repeats, extra=extra
    )
    alone_cv = cross_validate(primary, kind=kind, features=features, folds=folds, repeats=repeats)
    classes, results = leave_one_table_out(tables, kind=kind, features=features)
    parts = {r.table: (r.proba, idx(classes, r.y)) for r in results}

    def in_domain(cvr):
        p = np.zeros((len(primary), len(classes)))
        for j, c in enumerate(cvr.classes):
            p[:, classes.index(c)] = cvr.oof[0][:, j]
        return p, idx(classes, primary["mood"].astype(str))

    cal = calibrate_tables(parts, in_domain=in_domain(pooled_cv))
    # the old recipe: data_moods alone, scored on every other table (its ids removed from them)
    X0 = primary[features].to_numpy(float)
    y0 = primary["mood"].to_numpy().astype(str)
    old_dm = in_domain(alone_cv)
    T_old = fit_temperature(*old_dm)  # the old recipe could only calibrate in-domain
    old = {}
    for n, t in others.items():
        t = t[~t["id"].isin(set(primary["id"].dropna()))] if "id" in t else t
        p = fit_predict(kind, features, 0, None, X0, y0, t[features].to_numpy(float), classes)
        y = idx(classes, t["mood"].astype(str))
        old[n] = {
            "rows": len(y),
            "accuracy": float((p.argmax(1) == y).mean()),
            "ece": ece(p, y),
            "ece_cal": ece(apply_temperature(p, T_old), y),
        }
    seconds = time.perf_counter() - t0

    s_pool, s_alone = pooled_cv.summary, alone_cv.summary
    print(f"\n### `{name}` ({len(features)} features; tables: {', '.join(tables)})\n")
    print("| figure | pooled recipe (bundled now) | data_moods-only recipe (bundled before) |")
    print("|---|---|---|")
    print(
        f"| data_moods {repeats}×{folds} CV accuracy % (± = spread of single folds) | "
        f"{pct(s_pool['accuracy_mean'])} ± {pct(s_pool['accuracy_std'])} | "
        f"{pct(s_alone['accuracy_mean'])} ± {pct(s_alone['accuracy_std'])} |"
    )
    print(
        f"| data_moods CV macro-F1 / log-loss | {s_pool['macro_f1_mean']:.3f} / "
        f"{s_pool['log_loss_mean']:.3f} | {s_alone['macro_f1_mean']:.3f} / "
        f"{s_alone['log_loss_mean']:.3f} |"
    )
    for r in results:
        if r.table == "data_moods":
            print(
                f"| accuracy % on data_moods, trained on the other tables only | "
                f"{pct(r.scores['accuracy'])} ({len(r.y)} rows) | – |"
            )
            continue
        o = old[r.table]
        print(
            f"| accuracy % on {r.table} (held out; ids it shares with training removed) | "
            f"{pct(r.scores['accuracy'])} ({len(r.y)} rows) | {pct(o['accuracy'])} "
            f"({o['rows']} rows) |"
        )
    loto_mean = float(np.mean([r.scores["accuracy"] for r in results]))
    other_mean_pool = float(np.mean([r.scores["accuracy"] for r in results if r.table in old]))
    other_mean_old = float(np.mean([o["accuracy"] for o in old.values()]))
    print(f"| leave-one-table-out mean over all tables % | **{pct(loto_mean)}** | – |")
    print(
        f"| mean over the non-data_moods tables % | {pct(other_mean_pool)} | "
        f"{pct(other_mean_old)} |"
    )
    ind, lo = cal["in_domain"], cal["loto"]
    print(
        f"| ECE in-domain (data_moods out-of-fold), raw → calibrated | "
        f"{ind['ece_raw']:.3f} → {ind['ece_calibrated']:.3f} | "
        f"{ece(*old_dm):.3f} → {ece(apply_temperature(old_dm[0], T_old), old_dm[1]):.3f} |"
    )
    print(
        f"| ECE on held-out tables (mean over tables), raw → calibrated (nested) | "
        f"{lo['ece_raw']:.3f} → {lo['ece_calibrated_nested']:.3f} | "
        f"{np.mean([o['ece'] for o in old.values()]):.3f} → "
        f"{np.mean([o['ece_cal'] for o in old.values()]):.3f} (T fitted on data_moods OOF) |"
    )
    print(
        f"| uncertain below (chosen on held-out tables) | {cal['uncertain_below']:.2f}; nested: "
        f"confident {pct(lo['confident_share_nested'])} % of rows, "
        f"{pct(lo['confident_accuracy_nested'])} % right; uncertain "
        f"{pct(lo['uncertain_accuracy_nested'])} % right | – |"
    )
    print(
        f"| temperature (1 = inner check said scaling does not help) | "
        f"{cal['temperature']:.2f} | {T_old:.2f} |"
    )
    print(f"\n{seconds:.0f} s wall. Per-table calibration (nested):\n")
    print("| held-out table | ECE raw | ECE calibrated | T from other tables | threshold |")
    print("|---|---|---|---|---|")
    for n, v in lo["per_table"].items():
        print(
            f"| {n} | {v['ece_raw']:.3f} | {v['ece_calibrated']:.3f} | "
            f"{v['temperature_from_other_tables']:.2f} | "
            f"{v['uncertain_below_from_other_tables']:.2f} |"
        )


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    only = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")]
    data = Path(args[0] if args else Path(__file__).resolve().parents[2] / "shared" / "data")
    folds, repeats = (5, 1) if "--quick" in sys.argv else (10, 5)
    print(f"Feature models across tables; {repeats}×{folds} CV, seed 0, 2 cores.")
    for name in only or ["default", "default-noduration"]:
        bench(name, data, folds, repeats)


if __name__ == "__main__":
    main()
