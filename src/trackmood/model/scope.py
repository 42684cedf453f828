"""What an evaluation measures, said in its headline: a recipe's cross-validation on the given
tables, or a saved model scored on a table, with the rows it was trained on left out.

A saved model folder records hashes of its training track ids (``training_ids.txt``, see
:func:`~trackmood.model.persistence.id_hash`); :func:`held_out_rows` drops the rows whose ids are
among them, so a model is never credited for tracks it has seen. Scoring is called
*cross-dataset* only when no given table is one of the model's training tables.

>>> cv = {"accuracy_mean": 0.826, "accuracy_std": 0.044, "macro_f1_mean": 0.81,
...       "log_loss_mean": 0.42, "protocol": "5×10 stratified CV on data_moods.csv"}
>>> recipe_headline("default", cv, 686)
'default recipe, 5×10 stratified CV on data_moods.csv: accuracy 82.6 % ± 4.4, macro-F1 0.810, log-loss 0.420 (686 rows)'
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..errors import DataError

#: ``scope`` values of a saved model's scores.
CROSS = "cross-dataset"
TRAINING_TABLE = "rows of its training tables it did not train on (not cross-dataset)"
UNCHECKED = "not checked against its training data (the model does not record its track ids)"
TRAINING_DATA = "its own training data (not held out)"


def _names(srcs) -> str:
    return ", ".join(s.path.name for s in srcs)


def _pct(v) -> str:
    return f"{100 * v:.1f} %"


def cv_protocol(srcs, *, repeats: int, folds: int, first=None, extra=None) -> str:
    """How the CV was run, in words (as the model card says it)."""
    base = f"{repeats}×{folds} stratified CV"
    if first is not None:
        return f"{base} scored on {first} (the other tables in every training fold)"
    text = f"{base} on {_names(srcs)}"
    if extra:
        from pathlib import Path

        text += (
            f" ({', '.join(Path(str(e).split(':')[0]).name for e in extra)} in every training fold)"
        )
    return text


def recipe_headline(kind: str, cv: dict, rows: int) -> str:
    """``default recipe, 5×10 stratified CV on data_moods.csv: accuracy 82.6 % ± 4.4, …``."""
    return (
        f"{kind} recipe, {cv['protocol']}: accuracy {_pct(cv['accuracy_mean'])} ± "
        f"{100 * cv['accuracy_std']:.1f}, macro-F1 {cv['macro_f1_mean']:.3f}, log-loss "
        f"{cv['log_loss_mean']:.3f} ({rows} rows)"
    )


def card_figures(card: dict) -> str:
    """The held-out figures a model card states, in one phrase (empty if it states none)."""
    metrics = card.get("metrics") or {}
    parts = []
    cv = metrics.get("cv")
    if isinstance(cv, dict) and "accuracy_mean" in cv:
        parts.append(
            f"{_pct(cv['accuracy_mean'])} ({cv.get('protocol', 'stratified CV')}, ± "
            f"{100 * cv.get('accuracy_std', 0):.1f})"
        )
    loto = metrics.get("leave_one_table_out")
    if isinstance(loto, dict) and "accuracy_mean" in loto:
        parts.append(
            f"leave-one-table-out {_pct(loto['accuracy_mean'])} mean ("
            + ", ".join(f"{t['table']} {_pct(t['accuracy'])}" for t in loto.get("tables", []))
            + ")"
        )
    return "; ".join(parts)


def _training_files(card: dict) -> list[str]:
    return [str(f.get("file")) for f in card.get("training_files") or []]


def bundled_note(kind: str, srcs) -> str | None:
    """When recipe ``kind`` is also a bundled model's name: which figure is the bundled model's."""
    from .persistence import BUNDLED, load_model

    if kind not in BUNDLED:
        return None
    try:
        card = load_model(kind).card
    except Exception:  # noqa: BLE001 - a missing bundled model only loses the note
        return None
    figures = card_figures(card)
    if not figures:
        return None
    return (
        f"this is the {kind} recipe trained and scored on the tables given here; the bundled "
        f"model {kind!r} is trained on {', '.join(_training_files(card))} and its card says "
        f"{figures} (trackmood info {kind})"
    )


def held_out_rows(
    model,
    df: pd.DataFrame,
    srcs,
    *,
    ref: str | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """``df`` without the rows ``model`` was trained on, and what was done (``scope`` etc.).

    Rows are matched by the hash of their track id against the model folder's
    ``training_ids.txt``; rows without an id in one of the model's own training tables (same
    sha256) are left out too, as they cannot be told apart. Raises :class:`DataError` when no row
    is left, naming the held-out figures of the model's card instead.
    """
    from .persistence import id_hash, read_id_hashes

    card = model.card
    train_sha = {f.get("sha256") for f in card.get("training_files") or [] if f.get("sha256")}
    own = sorted({s.path.name for s in srcs if _sha(df, s) in train_sha})
    hashes = read_id_hashes(model)
    rows_in = len(df)
    info: dict = {"rows_in": rows_in, "excluded": 0, "training_tables_given": own}
    if hashes is None:
        info["scope"] = TRAINING_DATA if own else UNCHECKED
        if notify and (own or card.get("training_files")):
            notify(
                f"warning: model `{model.name}` does not record its training track ids, so rows "
                "it was trained on cannot be left out"
                + (
                    f"; {', '.join(own)} is one of its training tables: these figures are NOT "
                    "held out"
                    if own
                    else ""
                )
                + " (retrain it with this trackmood to record them)"
            )
        return df, info
    if "id" in df.columns:
        ids = df["id"].astype("string")
        has_id = ids.notna() & (ids.str.strip().str.len() > 0)
    else:
        ids, has_id = None, pd.Series(False, index=df.index)
    seen = pd.Series(False, index=df.index)
    if ids is not None:
        seen[has_id] = ids[has_id].map(id_hash).isin(hashes)
    no_id_own = ~has_id & (df["_sha256"].isin(train_sha) if "_sha256" in df else False)
    drop = seen | no_id_own
    info["excluded"] = int(drop.sum())
    info["excluded_without_id"] = int(no_id_own.sum())
    kept = df[~drop].reset_index(drop=True)
    info["rows"] = len(kept)
    info["scope"] = TRAINING_TABLE if own else CROSS
    if kept.empty:
        figures = card_figures(card)
        raise DataError(
            f"all {rows_in} rows of {_names(srcs)} are in model `{model.name}`'s training data "
            "(by track id): nothing held out to score"
            + (f"; its card's held-out figures: {figures}" if figures else "")
            + f" (trackmood info {ref or model.name}); give a table it was not trained on"
        )
    if info["excluded"] and notify:
        notify(
            f"warning: {info['excluded']} of {rows_in} rows left out: their track ids are in "
            f"model `{model.name}`'s training data"
            + (
                f" ({info['excluded_without_id']} rows of its training tables without an id)"
                if info["excluded_without_id"]
                else ""
            )
            + f"; scoring the other {len(kept)}"
        )
    if own and notify:
        held = _loto_for(card, own)
        notify(
            f"warning: {', '.join(own)} is one of model `{model.name}`'s training tables: the "
            f"{len(kept)} rows left are those its training dropped (conflicting moods, label "
            "maps), not a fair sample; this is not a cross-dataset figure"
            + (f" (its card's held-out figure for this table: {held})" if held else "")
        )
    return kept, info


def _loto_for(card: dict, files) -> str:
    """The card's leave-one-table-out accuracy of the tables holding ``files``."""
    table_of = {f.get("file"): f.get("table") for f in card.get("training_files") or []}
    loto = (card.get("metrics") or {}).get("leave_one_table_out") or {}
    acc = {t.get("table"): t.get("accuracy") for t in loto.get("tables", [])}
    found = [(table_of.get(f), acc.get(table_of.get(f))) for f in files]
    return ", ".join(
        f"leave-one-table-out {t} {_pct(a)}" for t, a in dict(found).items() if a is not None
    )


def _sha(df: pd.DataFrame, src) -> str | None:
    if "_file" not in df.columns or "_sha256" not in df.columns:
        return None
    rows = df.loc[df["_file"] == str(src.path), "_sha256"]
    if len(rows):
        return rows.iloc[0]
    from .._fs import file_sha256

    try:
        return file_sha256(src.path)
    except OSError:
        return None


def model_headline(model, srcs, scores: dict) -> str:
    """``model `default` (trained on …) on X.csv: accuracy …`` with what the rows are."""
    files = _training_files(model.card)
    trained = f" (trained on {', '.join(files)})" if files else ""
    excluded = (
        f"; {scores['excluded']} rows in its training data left out"
        if scores.get("excluded")
        else ""
    )
    held = _loto_for(model.card, scores.get("training_tables_given") or [])
    return (
        f"model `{model.name}`{trained} on {_names(srcs)}: accuracy {_pct(scores['accuracy'])}, "
        f"macro-F1 {scores['macro_f1']:.3f}, log-loss {scores['log_loss']:.3f} "
        f"({scores['rows']} rows{excluded}) — {scores['scope']}"
        + (f"; its card's held-out figure: {held}" if held else "")
    )
