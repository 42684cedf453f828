"""``trackmood predict`` and ``trackmood info``: the pipeline and a model's card."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import DataError, SourceError, TrackmoodError
from .common import StageProgress, err, fail, interrupted


def register(app: typer.Typer) -> None:
    """Add ``predict`` and ``info`` to ``app``."""
    app.command()(predict)
    app.command()(info)


def predict(
    inputs: list[str] = typer.Argument(
        None,
        metavar="INPUT",
        help="Feature tables (CSV/Parquet/JSON), audio files or "
        "folders, or Spotify track/playlist ids, URIs or URLs.",
    ),
    out: Path | None = typer.Option(
        None,
        "-o",
        "--out",
        metavar="FILE",
        help="Write predictions here (format from the suffix) instead of stdout.",
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        metavar="FORMAT",
        help="table, csv, json (one array), jsonl (one object a line) or parquet "
        "(default: from the -o suffix; table on stdout).",
    ),
    raw_csv: bool = typer.Option(
        False,
        "--raw-csv",
        help="CSV: write text cells as they are. By default a cell starting with = + - @ "
        "(a spreadsheet formula) gets a leading ' so it shows as text.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        metavar="MODEL",
        help="Bundled model name or saved model folder (default: 'default', or 'audio' for audio).",
    ),
    feature: list[str] = typer.Option(
        None,
        "--feature",
        metavar="NAME=VALUE",
        help="One track given as NAME=VALUE "
        "pairs, e.g. --feature energy=0.8 (repeat for each feature).",
    ),
    timeline: float | None = typer.Option(
        None,
        "--timeline",
        metavar="SECONDS",
        help="Audio only: the mood of "
        "each window of this many seconds, one row per "
        "window (and a PNG strip beside -o OUT).",
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Stop at the first bad row (empty, non-numeric or out-of-range feature) instead of "
        "reporting it with status 'invalid' and scoring the others.",
    ),
    chunksize: int = typer.Option(
        200_000, metavar="ROWS", help="Rows per chunk when streaming large tables."
    ),
    refresh: bool = typer.Option(
        False, "--refresh", help="Spotify playlists: read them again even if unchanged."
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="Audio: local worker processes (default: all cores)."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Audio: analyse on a Dask cluster, e.g. tcp://host:8786 (workers must see the "
        "same paths).",
    ),
):
    """Predict the mood of tracks: mood, four probabilities, confidence, quadrant, status."""
    try:
        inputs = inputs or []
        if feature:
            if inputs:
                raise_data("give either --feature values or input files, not both")
            return _predict_one(feature, model, out, fmt, raw_csv=raw_csv)
        if not inputs:
            raise_data("nothing to predict: give a table, audio files, Spotify ids or --feature")
        _predict(inputs, model=model, out=out, fmt=fmt, timeline=timeline, strict=strict,
                 chunksize=chunksize, refresh=refresh, raw_csv=raw_csv, workers=workers,
                 scheduler=scheduler)  # fmt: skip
    except TrackmoodError as e:
        fail(e)
    except KeyboardInterrupt:
        interrupted()


def raise_data(message: str) -> None:
    raise DataError(message)


def _predict_one(feature, model, out, fmt, *, raw_csv=False) -> None:
    """The fast path for one track: no pandas unless Parquet is asked for."""
    from ..features import record_from_pairs
    from ..outputs import AtomicOutput, output_format
    from ..pipeline import choose_model
    from ..predictions import predict_record

    fmt = output_format(out, fmt)
    record = record_from_pairs(feature)
    chosen = choose_model(record, model, notify=err)
    with AtomicOutput(out, fmt, raw_csv=raw_csv) as sink:
        sink.write_record(predict_record(chosen, record, file="--feature"))


def _predict(
    inputs, *, model, out, fmt, timeline, strict, chunksize, refresh=False, raw_csv=False,
    workers=None, scheduler=None,
) -> None:  # fmt: skip
    from .. import pipeline
    from ..outputs import (
        AtomicOutput,
        check_output,
        output_format,
        timeline_png_path,
        write_timeline_png,
    )

    fmt = output_format(out, fmt)
    check_output(out, inputs)
    kinds = pipeline.resolve(inputs)
    if len(inputs) == 1 and kinds[0][0] == "table":  # one table: stream in bounded memory
        with (
            StageProgress() as progress,
            AtomicOutput(out, fmt, inputs=inputs, raw_csv=raw_csv) as sink,
        ):
            counts = {"invalid": 0, "n": 0}
            for chunk in pipeline.stream(
                inputs,
                model=model,
                strict=strict,
                progress=progress,
                notify=err,
                chunksize=chunksize,
            ):
                sink.write(chunk)
                counts["n"] += len(chunk)
                counts["invalid"] += int((chunk["status"] == pipeline.INVALID).sum())
        _summary(counts["invalid"], counts["n"])
        return
    from contextlib import nullcontext

    from ..store import Store

    # audio and Spotify results go to the library (and its caches); tables are only read
    library = any(k in ("audio", "spotify") for k, _ in kinds)
    with Store() if library else nullcontext() as store, StageProgress() as progress:
        result = pipeline.run(
            inputs,
            model=model,
            strict=strict,
            timeline=timeline,
            store=store,
            progress=progress,
            notify=err,
            refresh=refresh,
            workers=workers,
            scheduler=scheduler,
        )
    c = result.counts()
    if len(result.predictions) and not c["ok"] and not c["invalid"]:
        raise SourceError(
            f"no track of the request got audio features ({len(result.predictions)} tried; "
            f"first: {_first_reason(result.predictions)})"
        )
    table = result.timeline if timeline else result.predictions
    with AtomicOutput(out, fmt, inputs=inputs, raw_csv=raw_csv) as sink:
        sink.write(table)
    if timeline and out is not None and result.timeline is not None and len(result.timeline):
        png = write_timeline_png(_timeline_groups(result.timeline), timeline_png_path(out))
        err(f"wrote mood timeline to {png}")  # err() escapes the name
    _summary(c["invalid"], len(result.predictions))


def _first_reason(pred) -> str:
    first = pred.iloc[0]
    name = first.get("id") if "id" in pred.columns else None
    reason = first.get("reason") or "no features"
    return f"{name}: {reason}" if name else str(reason)


def _timeline_groups(tl):
    return [
        (str(g["name"].iloc[0]), g.to_dict("records")) for _, g in tl.groupby("path", sort=False)
    ]


def _summary(invalid: int, n: int) -> None:
    if invalid:
        err(f"{invalid} of {n} rows not scored (status 'invalid', see the reason column)")


def info(
    model: str = typer.Argument(
        "default", metavar="MODEL", help="Bundled model name or saved model folder."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the card as JSON."),
):
    """Show a model's card: features, classes, training data, metrics, versions, terms."""
    from ..model.persistence import card_markdown, load_model

    try:
        m = load_model(model)
    except TrackmoodError as e:
        fail(e)
    if as_json:
        import json

        typer.echo(json.dumps(m.card, indent=1, default=str))
    else:
        typer.echo(card_markdown(m.card))
