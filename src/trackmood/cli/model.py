"""CLI commands for the model concern: ``train`` and ``evaluate`` (registered by :mod:`trackmood.cli`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer


def _progress():
    """A rich progress bar on stderr plus a ``(stage, done, total)`` callback driving it."""
    from .common import StageProgress

    progress = StageProgress(
        {
            "extract": "analysing audio",
            "cv": "cross-validating",
            "loto": "leave-one-table-out",
            "fit": "fitting",
        }
    )
    return progress, progress


def labeled_sources(specs, label_map):
    """``PATH[:Old=New,...]`` specs as LabeledSources; a global ``--label-map`` applies under each file's own."""
    from ..datasets import LabeledSource
    from ..moods import LabelMap

    sources = []
    for spec in specs:
        src = LabeledSource.parse(spec)
        if label_map.mapping:
            src.label_map = LabelMap({**label_map.mapping, **src.label_map.mapping})
        sources.append(src)
    return sources


def _train_personal(data: list[str] | None) -> None:
    from ..errors import DataError, TrackmoodError
    from ..library.personal import train_personal
    from ..store import Store
    from .common import err, fail

    try:
        if data and len(data) > 1:
            raise DataError("--personal takes at most one base folder or table")
        with Store() as store:
            rep = train_personal(store, base=Path(data[0]) if data else None, notify=err)
        for line in rep.lines():
            typer.echo(line)
    except TrackmoodError as e:
        fail(e)


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``evaluate`` to ``app``."""

    @app.command()
    def train(
        data: list[str] = typer.Argument(
            None,
            help="Labeled tables (CSV/Parquet/JSON with a mood "
            "column); PATH:Old=New,Drop= maps that file's labels.",
        ),
        kind: str = typer.Option(
            "default",
            "--recipe",
            "--kind",
            "-k",
            help="Recipe: default, original (the seed network) or audio (a folder of clips).",
        ),
        label_map: list[str] = typer.Option(
            None, "--label-map", "-l", help="Old=New (or Old= to drop) for every file; repeatable."
        ),
        name: str | None = typer.Option(
            None, "--name", help="The model's title (default: the output folder's name)."
        ),
        features: list[str] = typer.Option(
            None,
            "--features",
            help="Model features (repeat or comma-separate; default: the 10 original features).",
        ),
        out: Path | None = typer.Option(
            None, "-o", "--out", help="Model folder to write (default: ./model-KIND)."
        ),
        seed: int = typer.Option(
            0, "--seed", help="Random seed (training is deterministic for it)."
        ),
        cv: bool = typer.Option(
            True,
            "--cv/--no-cv",
            help="Run 5x10 stratified CV (and leave-one-table-out with several tables) and put "
            "the figures, calibration and the uncertain threshold in the model card.",
        ),
        audio: Path | None = typer.Option(
            None,
            "--audio",
            help="Train the audio recipe from a folder of clips in one sub-folder per mood.",
        ),
        personal: bool = typer.Option(
            False,
            "--personal",
            help="Fit a model on your own labels ('trackmood label') with the bundled model's "
            "training data (DATA: its labeled audio folder); it becomes your library's default "
            "only if it beats the bundled model on your labels.",
        ),
    ):
        """Train a model and save it as a folder (model.json + weights.npz + MODEL_CARD.md)."""
        from ..errors import DataError, TrackmoodError
        from ..moods import LabelMap
        from .common import err, fail

        if personal:
            return _train_personal(data)
        command = "trackmood " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        try:
            lm = LabelMap.parse(label_map)
            if audio is not None:
                if data:
                    raise DataError("give either --audio DIR or labeled tables, not both")
                kind, data = "audio", [str(audio)]
            if not data:
                raise DataError("no training data: give labeled tables (or --audio DIR)")
            from ..model.persistence import save_model
            from ..model.recipes import get_recipe
            from ..model.train import train_model

            recipe = get_recipe(kind)
            if recipe.kind == "audio":
                from ..datasets import LabeledSource

                sources = [LabeledSource(Path(d), lm) for d in data]
            else:
                sources = labeled_sources(data, lm)
            feats = [
                f.strip() for item in (features or []) for f in item.split(",") if f.strip()
            ] or None
            target = out or Path(f"model-{kind}")
            bar, update = _progress()
            with bar:
                model = train_model(
                    sources,
                    kind=kind,
                    features=feats,
                    seed=seed,
                    cv=cv,
                    name=name or target.name,
                    notify=err,
                    command=command,
                    progress=update,
                )
            save_model(model, target)
        except TrackmoodError as e:
            fail(e, "train")
        cvm = model.card.get("metrics", {}).get("cv")
        if cvm:
            err(
                f"{cvm['repeats']}x{cvm['folds']} CV accuracy {cvm['accuracy_mean']:.3f} ± "
                f"{cvm['accuracy_std']:.3f}, macro-F1 {cvm['macro_f1_mean']:.3f}, "
                f"log-loss {cvm['log_loss_mean']:.3f}"
            )
        loto = model.card.get("metrics", {}).get("leave_one_table_out")
        if loto:
            err(
                f"leave-one-table-out accuracy {loto['accuracy_mean']:.3f} (mean over tables: "
                + ", ".join(f"{t['table']} {t['accuracy']:.3f}" for t in loto["tables"])
                + ")"
            )
        if "uncertain_below" in model.card:
            err(f"confidence below {model.card['uncertain_below']:.2f} is marked uncertain")
        err(f"saved {model.card.get('recipe', kind)} model {model.name!r} to {target}")

    @app.command()
    def evaluate(
        data: list[str] = typer.Argument(
            ..., help="Labeled tables; PATH:Old=New,Drop= maps labels."
        ),
        model: str | None = typer.Option(
            None,
            "--model",
            "-m",
            help="Score this saved or bundled model on the data instead of cross-validating a "
            "recipe; rows whose track ids are in the model's training data are left out.",
        ),
        kind: str = typer.Option(
            "default", "--kind", "-k", help="Recipe to cross-validate: default or original."
        ),
        label_map: list[str] = typer.Option(
            None, "--label-map", "-l", help="Old=New (or Old=) for every file; repeatable."
        ),
        repeats: int = typer.Option(5, "--repeats", min=1, help="CV repeats."),
        folds: int = typer.Option(10, "--folds", min=2, help="CV folds."),
        seed: int = typer.Option(0, "--seed"),
        out: Path = typer.Option(Path("report"), "-o", "--out", help="Report folder to write."),
        extra_train: list[str] = typer.Option(
            None,
            "--extra-train",
            help="Labeled tables added to every training fold only (de-duplicated by id).",
        ),
        loto: bool = typer.Option(
            False,
            "--leave-one-table-out",
            help="Also train on all tables but one and score the one left out, once per table "
            "(give two or more tables); the CV then scores the first table.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print metrics.json to stdout."),
    ):
        """Measure accuracy honestly and write a report folder (report.md, PNG figures, metrics.json).

        Cross-validates a recipe trained on the given tables (5x10 stratified CV + the original's
        80/20 split), or with --model scores a saved model on them, leaving out the rows it was
        trained on (cross-dataset when no table is one of its training tables). The first line
        printed says which.
        """
        import json

        from ..errors import TrackmoodError
        from ..model.evaluate import evaluate as run
        from ..moods import LabelMap
        from .common import err, fail

        try:
            sources = labeled_sources(data, LabelMap.parse(label_map))
            bar, update = _progress()
            with bar:
                metrics = run(
                    sources,
                    model=model,
                    kind=kind,
                    folds=folds,
                    repeats=repeats,
                    seed=seed,
                    notify=err,
                    extra_train=extra_train or None,
                    loto=loto,
                    out=out,
                    progress=lambda d, t: update("cv", d, t),
                )
        except TrackmoodError as e:
            fail(e, "evaluate")
        if as_json:
            typer.echo(json.dumps({k: v for k, v in metrics.items() if k != "cv_folds"}, indent=1))
        else:
            typer.echo(metrics["headline"])
            lo = metrics.get("leave_one_table_out")
            if lo:
                for t in lo["tables"]:
                    typer.echo(
                        f"leave-one-table-out {t['table']}: accuracy {t['accuracy']:.4f}  "
                        f"macro-F1 {t['macro_f1']:.4f}  ({t['rows']} rows; trained on "
                        f"{t['train_rows']}, {t['overlap_removed']} shared ids removed)"
                    )
                typer.echo(f"leave-one-table-out mean accuracy {lo['accuracy_mean']:.4f}")
                cal = metrics["calibration"]["loto"]
                typer.echo(
                    f"ECE leave-one-table-out {cal['ece_raw']:.4f} raw, "
                    f"{cal['ece_calibrated_nested']:.4f} calibrated (nested)"
                )
            if metrics.get("holdout"):
                typer.echo(f"80/20 split accuracy {metrics['holdout']['accuracy']:.4f}")
        err(f"report written to {out}")
