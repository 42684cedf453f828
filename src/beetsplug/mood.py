"""beets plugin ``mood``: predict the mood of library items with trackmood.

Enable it with ``plugins: mood`` in beets' ``config.yaml`` (trackmood ships the ``beetsplug``
namespace package, so nothing else is needed once trackmood is installed next to beets). Then::

    beet mood [QUERY]          # analyse items without a mood (-f: all matching items)
    beet ls mood:Calm          # flexible attributes: mood, mood_p_calm … mood_p_sad, mood_model,
                               # mood_valence, mood_energy
    beet ls -f '$bpm $initial_key'   # beets' own bpm and initial_key, filled when empty
    beet write                 # puts mood into the files' tags (MP3 TMOO, Vorbis MOOD, M4A MOOD)

The analysis also fills beets' own ``bpm`` and ``initial_key`` (standard notation: ``Am``,
``F#``, ``Bbm``) of items that have none, where it measured them well enough (the thresholds of
:mod:`trackmood.library.tagvalues`), and ``mood_valence`` / ``mood_energy`` (0–1), which ``beet
write`` puts in ``TRACKMOOD_VALENCE`` / ``TRACKMOOD_ENERGY`` as trackmood's own ``tag`` does.

Options (``mood:`` section): ``workers`` (analysis processes, 0 = all cores), ``db`` (trackmood's
library file; default ``$TRACKMOOD_DB`` or its user data folder), ``model`` (an audio model
folder or bundled name; default the trackmood library's default), ``write`` (write tags at once,
default: beets' ``import.write``), ``auto`` (analyse while importing, default no).
"""

from __future__ import annotations

import os
from typing import ClassVar

import mediafile
from beets import ui
from beets.dbcore import types
from beets.plugins import BeetsPlugin

MOODS = ("Calm", "Energetic", "Happy", "Sad")
PROBA_FIELDS = tuple(f"mood_p_{m.lower()}" for m in MOODS)
AXES = ("mood_valence", "mood_energy")


def _tag_field(tag: str, *, floats: bool = False, digits: int = 4) -> mediafile.MediaField:
    """One field stored as ``tag`` in every format (TXXX:tag in ID3)."""
    places = {"float_places": digits} if floats else {}  # as trackmood's own ``tag`` writes them
    return mediafile.MediaField(
        mediafile.MP3DescStorageStyle(tag, **places),
        mediafile.MP4StorageStyle(f"----:com.apple.iTunes:{tag}", **places),
        mediafile.StorageStyle(tag, **places),
        mediafile.ASFStorageStyle(f"trackmood/{tag}", **places),
        **({"out_type": float} if floats else {}),
    )


def media_fields() -> dict[str, mediafile.MediaField]:
    """``mood`` in the standard mood tags (the ones trackmood's own ``tag`` writes) and
    trackmood's probability and model fields.
    """
    fields = {
        "mood": mediafile.MediaField(
            mediafile.MP3StorageStyle("TMOO"),
            mediafile.MP4StorageStyle("----:com.apple.iTunes:MOOD"),
            mediafile.StorageStyle("MOOD"),
            mediafile.ASFStorageStyle("WM/Mood"),
        ),
        "mood_model": _tag_field("TRACKMOOD_MODEL"),
    }
    for name in PROBA_FIELDS:
        fields[name] = _tag_field(f"TRACKMOOD_{name.removeprefix('mood_').upper()}", floats=True)
    for name in AXES:
        fields[name] = _tag_field(
            f"TRACKMOOD_{name.removeprefix('mood_').upper()}", floats=True, digits=3
        )
    return fields


class MoodPlugin(BeetsPlugin):
    item_types: ClassVar[dict[str, types.Type]] = {
        "mood": types.STRING,
        "mood_model": types.STRING,
        "mood_confidence": types.Float(4),
        **dict.fromkeys(PROBA_FIELDS, types.Float(4)),
        **dict.fromkeys(AXES, types.Float(3)),
    }

    def __init__(self) -> None:
        super().__init__()
        self.config.add({"workers": 0, "db": "", "model": "", "write": None, "auto": False})
        if self.config["auto"].get(bool):
            self.import_stages = [self.imported]
        known = set(mediafile.MediaFile.fields())
        for name, field in media_fields().items():
            if name not in known:
                try:
                    self.add_media_field(name, field)
                except ValueError:  # already added by an earlier instance
                    pass
        # ``beet write`` compares only ``Item._media_tag_fields`` with the file (beets 2.14 adds
        # plugin fields to ``_media_fields`` alone), so without this it never writes ``mood``
        from beets import library

        tag_fields = getattr(library.Item, "_media_tag_fields", None)
        if isinstance(tag_fields, set):
            tag_fields.update(media_fields())

    def commands(self) -> list[ui.Subcommand]:
        cmd = ui.Subcommand("mood", help="predict the mood of items with trackmood")
        cmd.parser.add_option(
            "-f", "--force", action="store_true", help="analyse items that have a mood already"
        )
        cmd.parser.add_option(
            "-w", "--workers", type="int", help="analysis processes (default: all cores)"
        )
        cmd.parser.add_option(
            "--write", action="store_true", default=None, help="write the tags at once"
        )
        cmd.parser.add_option(
            "--nowrite", action="store_false", dest="write", help="do not write tags"
        )
        cmd.func = self.command
        return [cmd]

    def command(self, lib, opts, args) -> None:
        items = list(lib.items(args))
        if not opts.force:
            items = [i for i in items if not i.get("mood")]
        if not items:
            self._log.info("no items to analyse")
            return
        write = opts.write if opts.write is not None else self.config["write"].get()
        self.analyse_items(items, workers=opts.workers, write=ui.should_write(write))

    def imported(self, session, task) -> None:
        """Import stage (``auto: yes``): analyse the imported items that have no mood yet; the
        importer writes the tags afterwards if ``import.write`` is on.
        """
        items = [i for i in task.imported_items() if not i.get("mood")]
        if items:
            self.analyse_items(items, write=False)

    def analyse_items(self, items, *, workers=None, write=False) -> int:
        """Predict the mood of ``items``, store it as flexible attributes (and write tags if
        ``write``); return how many items got a mood.
        """
        from trackmood.errors import TrackmoodError
        from trackmood.library import catalog
        from trackmood.library.analyse import analyse
        from trackmood.store import Store

        workers = workers or self.config["workers"].get(int) or None
        db = self.config["db"].as_str() or None
        model = self.config["model"].as_str() or None
        by_path = {os.path.normpath(os.fsdecode(i.path)): i for i in items}
        try:
            store = Store(db)
        except TrackmoodError as e:
            raise ui.UserError(str(e)) from None
        try:
            results = analyse(list(by_path), store=store, model=model, workers=workers)
            measures = catalog.measures(store, [r["id"] for r in results if r["status"] == "ok"])
        except TrackmoodError as e:
            raise ui.UserError(str(e)) from None
        finally:
            store.close()
        done = 0
        for r in results:
            item = by_path.get(os.path.normpath(r["path"]))
            if item is None:
                continue
            if r["status"] != "ok":
                self._log.warning("{}: {}", r["path"], r.get("reason"))
                continue
            item["mood"] = r["mood"]
            item["mood_model"] = r["model"]
            item["mood_confidence"] = round(r["confidence"], 4)
            for name in PROBA_FIELDS:
                item[name] = round(r["p_" + name.removeprefix("mood_p_")], 4)
            self._fill_measures(item, measures.get(r["id"]))
            if write:
                item.try_write()
            item.store()
            done += 1
            self._log.info("{}: {} ({:.0%})", r["path"], r["mood"], r["confidence"])
        self._log.info("{} of {} item(s) analysed", done, len(items))
        return done

    def _fill_measures(self, item, measures: dict | None) -> None:
        """Fill beets' ``bpm`` and ``initial_key`` where empty and measured well enough; the
        valence/energy estimates as ``mood_valence`` / ``mood_energy``.
        """
        from trackmood.library.tagvalues import measured_values

        values, notes = measured_values(measures, ("bpm", "key", "valence", "energy"))
        if "bpm" in values and not item.get("bpm"):
            item["bpm"] = int(values["bpm"][0])
        if "key" in values and not item.get("initial_key"):
            item["initial_key"] = values["key"][0]
        for name in ("valence", "energy"):
            if name in values:
                item[f"mood_{name}"] = float(values[name][0])
        for note in notes:
            self._log.debug("{}: {}", os.fsdecode(item.path), note)
