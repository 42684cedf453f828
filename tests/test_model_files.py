"""Hostile model folders: huge declared arrays are refused before allocation; a card cannot send
terminal control sequences to the screen through ``trackmood info``.
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from trackmood.cli import app
from trackmood.errors import ModelError
from trackmood.model.cards import card_markdown, clean
from trackmood.model.persistence import bundled_dir, load_model

CONTROL = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]]


def _copy_default(tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(bundled_dir() / "default", dst)
    return dst


def _npy_header(shape, dtype="<f8") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def test_huge_declared_array_is_refused_before_allocation(tmp_path):
    folder = _copy_default(tmp_path)
    with np.load(folder / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    with zipfile.ZipFile(folder / "weights.npz", "w") as zf:
        for k, v in arrays.items():
            if k == "m0_W0":  # 10^6 x 10^6 float64 = 8 TB declared, 16 bytes present
                zf.writestr(k + ".npy", _npy_header((10**6, 10**6)) + b"\0" * 16)
            else:
                import io

                buf = io.BytesIO()
                np.save(buf, v)
                zf.writestr(k + ".npy", buf.getvalue())
    start = time.perf_counter()
    with pytest.raises(ModelError, match=r"m0_W0.*\(1000000, 1000000\).*refused before reading"):
        load_model(folder)
    assert time.perf_counter() - start < 2
    r = CliRunner().invoke(app, ["info", str(folder)])
    assert r.exit_code != 0 and "refused before reading" in r.stderr


def test_object_arrays_and_non_zip_weights_are_refused(tmp_path):
    folder = _copy_default(tmp_path)
    with zipfile.ZipFile(folder / "weights.npz", "w") as zf:
        zf.writestr("shift.npy", _npy_header((3,), dtype="|O") + b"\0" * 24)
    with pytest.raises(ModelError, match="Python objects"):
        load_model(folder)
    (folder / "weights.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ModelError, match="not a valid trackmood model"):
        load_model(folder)


def test_bundled_models_pass_the_size_check():
    for name in ("default", "default-noduration", "original"):
        assert (
            load_model(name).predict_proba(np.zeros((1, len(load_model(name).features)))).shape[0]
            == 1
        )


EVIL = "\x1b]0;pwned\x07Evil\x1b[2J\x1b[31mRed\x9b2Jmodel\x07\x00\x08"


def test_info_prints_no_control_sequences(tmp_path):
    folder = _copy_default(tmp_path)
    doc = json.loads((folder / "model.json").read_text())
    doc["card"]["name"] = EVIL
    doc["card"]["description"] = "desc" + EVIL
    doc["card"]["versions"] = {"numpy\x1b[8m": "1\x1bP+q\x1b\\"}
    doc["card"]["terms"] = "\x9d8;;http://x\x9cterms"
    (folder / "model.json").write_text(json.dumps(doc))
    for args in (["info", str(folder)], ["info", str(folder), "--json"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
        assert not [c for c in CONTROL if c in r.stdout.replace("\n", "")], repr(r.stdout[:300])
    r = CliRunner().invoke(app, ["info", str(folder)])
    assert "# Model card: EvilRedmodel" in r.stdout and "terms" in r.stdout
    assert load_model(folder).name == "EvilRedmodel"


def test_clean_keeps_plain_text_and_newlines():
    text = "Calm → Sad, 82 % ± 4\nnext line\ttab"
    assert clean(text) == text
    assert "\x1b" not in card_markdown({"name": "a\x1b[1mb", "features": ["x\x07"]})
