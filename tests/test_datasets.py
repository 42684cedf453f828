"""Reading, pooling and de-duplicating labeled tables, on made-up tables and on every shared file."""

import json

import pytest

from trackmood.datasets import LabeledSource, load_labeled, pool, read_table
from trackmood.errors import DataError, LabelError
from trackmood.features import MODEL_FEATURE_NAMES
from trackmood.moods import MOODS, LabelMap

HEADER = "id,name," + ",".join(MODEL_FEATURE_NAMES) + ",mood\n"


def row(tid, mood, energy=0.5):
    return f"{tid},song {tid},200000,0.5,0.5,{energy},0.0,0.1,0.5,-8.0,0.05,120.0,{mood}\n"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_parquet_json_read_the_same(tmp_path):
    csv = write(tmp_path, "a.csv", HEADER + row("a" * 22, "Happy") + row("b" * 22, "sad"))
    df = read_table(csv)
    df.drop(columns="_row").to_parquet(tmp_path / "a.parquet")
    (tmp_path / "a.json").write_text(df.drop(columns="_row").to_json(orient="records"))
    for path in (csv, tmp_path / "a.parquet", tmp_path / "a.json"):
        got = load_labeled(path)
        assert list(got["mood"]) == ["Happy", "Sad"]
        assert list(got["_row"]) == [1, 2]
        assert len(got["_sha256"].iloc[0]) == 64 and got["source"].iloc[0] == f"file:{path.name}"


def test_json_wrapped_in_object_and_jsonl(tmp_path):
    df = read_table(write(tmp_path, "a.csv", HEADER + row("a" * 22, "Calm")))
    rec = df.drop(columns="_row").to_dict(orient="records")
    (tmp_path / "w.json").write_text(json.dumps({"tracks": rec}))
    (tmp_path / "l.jsonl").write_text("\n".join(json.dumps(r) for r in rec) + "\n")
    assert load_labeled(tmp_path / "w.json")["mood"].tolist() == ["Calm"]
    assert load_labeled(tmp_path / "l.jsonl")["mood"].tolist() == ["Calm"]


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("empty.csv", "", "file is empty"),
        ("header.csv", HEADER, "header only"),
        (
            "bad.csv",
            HEADER + row("a" * 22, "Happy") + row("b" * 22, "Sad").strip() + ",1,2,3\n",
            "malformed CSV",
        ),
        ("quote.csv", HEADER + row("a" * 22, "Happy") + 'x,"never closed,1\n', "malformed CSV"),
        ("bad.json", '[{"a": 1},', "malformed JSON"),
        ("scalar.json", "[1, 2]", "list of objects"),
        ("empty.json", "[]", "no data rows"),
        ("table.xlsx", "x", "unsupported table format"),
    ],
)
def test_unreadable_tables(tmp_path, name, content, fragment):
    p = write(tmp_path, name, content)
    with pytest.raises(DataError) as e:
        read_table(p)
    assert name in str(e.value) and fragment in str(e.value)


def test_binary_and_missing_and_corrupt_parquet(tmp_path):
    b = tmp_path / "noise.csv"
    b.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(DataError, match="noise.csv.*binary"):
        read_table(b)
    with pytest.raises(DataError, match="nope.csv: no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="x.parquet: not a readable Parquet"):
        read_table(tmp_path / "x.parquet")


def test_unknown_label_names_row_and_value(tmp_path):
    p = write(tmp_path, "l.csv", HEADER + row("a" * 22, "Happy") + row("b" * 22, "Furious"))
    with pytest.raises(LabelError) as e:
        load_labeled(p)
    assert "l.csv, row 2, column 'mood'" in str(e.value) and "'Furious'" in str(e.value)
    got = load_labeled(p, label_map=LabelMap.parse(["Furious=Energetic"]))
    assert got["mood"].tolist() == ["Happy", "Energetic"]
    got = load_labeled(p, label_map=LabelMap.parse(["Furious="]))
    assert got["mood"].tolist() == ["Happy"]


def test_missing_label_column(tmp_path):
    p = write(
        tmp_path,
        "n.csv",
        HEADER.replace(",mood", "") + row("a" * 22, "Happy").rsplit(",", 1)[0] + "\n",
    )
    with pytest.raises(DataError, match="n.csv: no label column 'mood'"):
        load_labeled(p)


def test_pool_dedups_and_drops_conflicts(tmp_path):
    a = write(
        tmp_path,
        "a.csv",
        HEADER + row("a" * 22, "Happy") + row("b" * 22, "Sad") + row("c" * 22, "Calm"),
    )
    b = write(
        tmp_path,
        "b.csv",
        HEADER + row("a" * 22, "happy") + row("b" * 22, "Melancholy") + row("d" * 22, "Energetic"),
    )
    df, report = pool([str(a), f"{b}:Melancholy=Calm"])
    assert sorted(df["id"]) == ["a" * 22, "c" * 22, "d" * 22]  # b conflicts: Sad vs Calm
    assert report.conflicts == {"b" * 22: ["Calm", "Sad"]}
    assert report.duplicates_merged == 1 and report.rows_out == 3
    assert "1 ids with conflicting moods dropped" in report.summary()
    # provenance: each kept row names its file and row
    kept = df.set_index("id")
    assert kept.loc["d" * 22, "_file"].endswith("b.csv") and kept.loc["d" * 22, "_row"] == 3


def test_labeled_source_parse():
    s = LabeledSource.parse("data/x.csv:Melancholic=Sad,Romantic=")
    assert str(s.path) == "data/x.csv" and s.label_map.apply("Romantic") is None
    assert str(LabeledSource.parse("C:/data/x.csv").path) == "C:/data/x.csv"


MAPS = {
    "data_moods.csv": None,
    "jdruii_all_playlists_mood_combined.csv": "Melancholic=Sad,Relaxing=Calm,Anger=,Romantic=",
    "bettinasosa_moods1.csv": "chill=Calm,study=",
    "bdizon_happy_songs.csv": None,
    "bdizon_sad_songs.csv": None,
    "bdizon_angry_songs.csv": "angry=Energetic",
}


@pytest.mark.parametrize("name", sorted(MAPS))
def test_every_shared_file_loads(shared_data, name):
    spec = str(shared_data / name) + (f":{MAPS[name]}" if MAPS[name] else "")
    df, report = pool([spec])
    assert report.rows_out == len(df) > 100
    assert set(df["mood"]) <= set(MOODS)
    assert df["id"].is_unique
    present = [f for f in MODEL_FEATURE_NAMES if f in df.columns]
    assert len(present) >= 9 and df[present].notna().all().all()


def test_data_moods_facts(data_moods):
    df, report = pool([data_moods])
    counts = df["mood"].value_counts().to_dict()
    assert counts == {"Sad": 197, "Calm": 195, "Energetic": 154, "Happy": 140}
    assert report.conflicts == {}


def test_jdruii_has_bom_duplicates_and_conflicts(shared_data):
    df, report = pool(
        [
            str(shared_data / "jdruii_all_playlists_mood_combined.csv")
            + ":"
            + MAPS["jdruii_all_playlists_mood_combined.csv"]
        ]
    )
    assert "id" in df.columns and "duration_ms" in df.columns  # BOM stripped from the first header
    assert report.duplicates_merged > 0 and len(report.conflicts) > 0
    assert (
        sum(len(v) for v in report.incomplete.values()) > 0
    )  # rows without features are skipped, counted


def _parquet(path, n, row_group_size):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    energy = (np.arange(n) % 1000) / 1000.0
    table = pa.table({"energy": energy, "valence": energy[::-1].copy(), "mood": ["Calm"] * n})
    pq.write_table(table, path, row_group_size=row_group_size)
    return energy


def test_parquet_of_many_row_groups_keeps_every_row(tmp_path):
    p = tmp_path / "many.parquet"
    energy = _parquet(p, 2_500, row_group_size=100)  # 25 row groups
    df = read_table(p)
    assert len(df) == 2_500 and df["_row"].tolist() == list(range(1, 2_501))
    assert df["energy"].tolist() == energy.tolist()
    chunks = list(read_table(p, chunksize=300))
    assert len(chunks) >= 9 and sum(map(len, chunks)) == 2_500
    assert chunks[-1]["_row"].iloc[-1] == 2_500
    assert len(load_labeled(p, features=["energy", "valence"])) == 2_500


def test_parquet_past_the_reader_batch_size_keeps_every_row(tmp_path):
    n = (1 << 20) + 7  # one row group just past the first 1,048,576-row batch
    p = tmp_path / "big.parquet"
    energy = _parquet(p, n, row_group_size=n)
    df = read_table(p)
    assert len(df) == n and df["_row"].iloc[-1] == n
    assert df["energy"].iloc[-1] == energy[-1] and df["valence"].iloc[-1] == energy[0]


@pytest.mark.parametrize(
    "header,names",
    [
        ("energy,energy", ("'energy' appears twice",)),
        ("length,duration_ms", ("'length'", "'duration_ms'", "both mean 'duration_ms'")),
        ("Energy , energy", ("Energy", "both mean 'energy'")),
    ],
)
def test_duplicate_feature_columns_are_refused(tmp_path, header, names):
    p = write(tmp_path, "dup.csv", f"id,{header},mood\nx,0.5,0.6,Calm\n")
    with pytest.raises(DataError) as e:
        read_table(p)
    msg = str(e.value)
    assert "dup.csv" in msg and "duplicate column" in msg
    assert all(n in msg for n in names)


def test_duplicate_columns_in_parquet_and_json(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_arrays([pa.array([0.1]), pa.array([0.2])], names=["valence", "valence"])
    pq.write_table(t, tmp_path / "d.parquet")
    with pytest.raises(DataError, match=r"d\.parquet, column 'valence': duplicate column"):
        read_table(tmp_path / "d.parquet")
    (tmp_path / "d.json").write_text('[{"length": 1000, "duration_ms": 2000}]')
    with pytest.raises(DataError, match="both mean 'duration_ms'"):
        read_table(tmp_path / "d.json")
    # identity columns may repeat (the first one wins): jdruii has both id and uri
    ok = write(tmp_path, "ids.csv", "id,uri,energy,mood\nabc,spotify:track:abc,0.5,Calm\n")
    assert read_table(ok)["id"].tolist() == ["abc"]


def test_label_map_drops_are_counted(tmp_path):
    p = write(
        tmp_path,
        "m.csv",
        HEADER + row("a" * 22, "Anger") + row("b" * 22, "Happy") + row("c" * 22, "anger"),
    )
    df, report = pool([LabeledSource(p, LabelMap.parse(["Anger="]))])
    assert len(df) == 1 and report.label_dropped[str(p)] == {"Anger": 1, "anger": 1}
    assert "after 2 dropped by label maps" in report.summary()
    assert report.label_lines() == ["label map dropped 2 rows of m.csv (Anger 1, anger 1)"]
