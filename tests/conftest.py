"""Shared fixtures: where the shared data lives, and a private library store for every test."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    """Every test gets its own SQLite library and never touches the user's."""
    db = tmp_path / "library.sqlite"
    monkeypatch.setenv("TRACKMOOD_DB", str(db))
    return db


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "data_moods.csv").exists():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def data_moods(shared_data) -> Path:
    return shared_data / "data_moods.csv"
