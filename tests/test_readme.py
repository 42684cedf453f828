"""README examples run as written: every command of every shell block in README.md is run in a
sandbox (cwd beside ../shared/data, generated audio for ~/Music and song.mp3, a generated
tracks.parquet) and must exit 0, or the code listed in EXPECTED_CODE. Commands that need the
network, credentials, a server or long training are skipped, each by a rule in SKIP with its reason.

New README commands are picked up by themselves. A command with an argument the test does not
know (a placeholder such as PLAYLIST, a ``~`` path, a file that does not exist) fails with a
message saying to add a substitution (SUBSTITUTE) or a skip rule (SKIP) here.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED_DATA = ROOT.parent / "shared" / "data"

#: (regex searched in the command, reason it is not run). First match wins.
SKIP: tuple[tuple[str, str], ...] = (
    (r"^pip install", "installs the package (network); the tests run the installed trackmood"),
    (r"install-test-deps\.sh", "installs Debian and PyPI packages (root, network)"),
    (r"-m pytest", "runs the whole test suite, of which this test is part"),
    (r"https?://|spotify:|open\.spotify\.com", "needs Spotify/ReccoBeats (network)"),
    (r"^trackmood (collect|login|logout)\b", "needs a Spotify app and login (credentials)"),
    (r"^trackmood playlists split\b", "needs a Spotify login (credentials, network)"),
    (r"^trackmood serve\b", "starts a web server for a browser (tested in tests/test_web_*.py)"),
    (
        r"^trackmood playlists path --from",
        "a mood arc needs a library holding both moods, which the sandbox's few generated clips "
        "may not (tests/test_similar.py runs one on a library that does)",
    ),
    (
        r"train-personal|train .*--personal",
        "long training: embeds the 500 base clips of audio_4q (minutes)",
    ),
)

#: (regex searched in the command, the exit code the README documents for it).
EXPECTED_CODE: tuple[tuple[str, int], ...] = ()

#: README placeholder -> sandbox path (``{music}``, ``{song}``, ``{parquet}`` are generated).
#: A key matches a whole argument, or its start followed by ``/``.
SUBSTITUTE: dict[str, str] = {
    "~/Music": "{music}",
    "song.mp3": "{song}",
    "tracks.parquet": "{parquet}",
}

_OUTPUT_FLAGS = {"-o", "--out", "--output"}
_SHELL = {"|", "||", ";", ">", ">>", "<", "&"}
_FILE_LIKE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,6}/?$")
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]+$")


@dataclass
class Command:
    line: int  # README line where the command starts
    text: str  # as written (continuations joined, comment removed)
    argv: list[str]


def shell_blocks(text: str) -> list[tuple[int, list[str]]]:
    """``(first line number, lines)`` of each fenced block of shell commands: blocks marked
    bash/sh/shell/console, and unmarked blocks whose every command line starts with trackmood.
    """
    blocks, lang, start, body = [], None, 0, []
    for n, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*```\s*([\w+-]*)", line)
        if fence and lang is None:
            lang, start, body = fence.group(1).lower() or "-", n + 1, []
        elif fence:
            commands = [b for b in body if b.strip() and not b.strip().startswith("#")]
            if lang in {"bash", "sh", "shell", "console"} or (
                lang == "-" and commands and all(c.startswith("trackmood ") for c in commands)
            ):
                blocks.append((start, body))
            lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def commands(text: str) -> list[Command]:
    """Every command in the README's shell blocks: continuations joined, comments dropped,
    ``a && b`` split in two.
    """
    out = []
    for start, lines in shell_blocks(text):
        pending, first = "", None
        for offset, line in enumerate(lines):
            if first is None:
                first = start + offset
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            full, pending = pending + line, ""
            tokens = shlex.split(full, comments=True)
            part: list[str] = []
            for tok in [*tokens, "&&"]:
                if tok == "&&":
                    if part:
                        out.append(Command(first, shlex.join(part), part))
                    part = []
                else:
                    part.append(tok)
            first = None
    return out


def skip_reason(cmd: Command) -> str | None:
    for pattern, reason in SKIP:
        if re.search(pattern, cmd.text):
            return reason
    return None


def expected_code(cmd: Command) -> int:
    for pattern, code in EXPECTED_CODE:
        if re.search(pattern, cmd.text):
            return code
    return 0


def substitute(cmd: Command, places: dict[str, str], cwd: Path) -> list[str]:
    """``cmd.argv`` with placeholders replaced; raises AssertionError naming an unknown one."""
    argv = []
    for i, tok in enumerate(cmd.argv):
        for key in sorted(SUBSTITUTE, key=len, reverse=True):
            if tok == key or tok.startswith(key + "/"):
                tok = SUBSTITUTE[key].format(**places) + tok[len(key) :]
                break
        is_output = i > 0 and cmd.argv[i - 1] in _OUTPUT_FLAGS
        problem = None
        if tok in _SHELL:
            problem = f"shell syntax {tok!r} is not supported by this test"
        elif "~" in tok or "$" in tok:
            problem = f"unknown placeholder {tok!r}"
        elif _PLACEHOLDER.match(tok):
            problem = f"unknown placeholder {tok!r}"
        elif not is_output and not tok.startswith("-") and _FILE_LIKE.search(_path_part(tok)):
            if not (cwd / _path_part(tok)).exists():
                problem = f"{tok!r} is not a file the sandbox has"
        assert problem is None, (
            f"README.md line {cmd.line}: `{cmd.text}`: {problem}; add a substitution to "
            "SUBSTITUTE (and generate the file in `sandbox`) or a skip rule with its reason to "
            "SKIP in tests/test_readme.py"
        )
        argv.append(tok)
    return argv


def _path_part(tok: str) -> str:
    """``PATH`` of ``PATH:Old=New,…`` (a labelled table with its label map)."""
    head, sep, tail = tok.rpartition(":")
    return head if sep and "=" in tail else tok


ALL = commands(README.read_text(encoding="utf-8"))


def test_readme_has_commands_and_every_skip_has_a_reason():
    assert len(ALL) >= 15, [c.text for c in ALL]
    texts = [c.text for c in ALL]
    assert any(t.startswith("trackmood evaluate") for t in texts)
    assert any(t.startswith("trackmood train") for t in texts)
    skipped = {c.text: skip_reason(c) for c in ALL if skip_reason(c)}
    assert all(len(r) > 10 for r in skipped.values())
    assert len(skipped) < len(ALL) / 2, skipped  # most of the README runs


def test_parser_joins_continuations_splits_and_and_finds_unknown_placeholders(tmp_path):
    text = (
        "x\n```bash\ntrackmood predict a.csv \\\n  --feature x=1  # comment\n"
        "trackmood scan ~/Music && trackmood tag ~/Music\n```\n"
        "```\ntrackmood collect --mood Happy PLAYLIST\n```\n```python\nprint(1)\n```\n"
    )
    cmds = commands(text)
    assert [c.text for c in cmds] == [
        "trackmood predict a.csv --feature x=1",
        "trackmood scan '~/Music'",
        "trackmood tag '~/Music'",
        "trackmood collect --mood Happy PLAYLIST",
    ]
    assert cmds[0].line == 3 and cmds[1].line == 5
    places = {"music": str(tmp_path / "m"), "song": "s.mp3", "parquet": "t.parquet"}
    assert substitute(cmds[1], places, tmp_path)[-1] == str(tmp_path / "m")
    with pytest.raises(AssertionError, match="line 3.*'a.csv' is not a file the sandbox has"):
        substitute(cmds[0], places, tmp_path)
    with pytest.raises(AssertionError, match="unknown placeholder 'PLAYLIST'.*SUBSTITUTE"):
        substitute(cmds[3], places, tmp_path)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A working folder beside ``shared/data`` (a link to the real one) holding ``examples/``,
    a generated music folder, ``song.mp3`` and ``tracks.parquet``.
    """
    if not (SHARED_DATA / "data_moods.csv").exists():
        pytest.skip("../shared/data is not present")
    import pandas as pd

    from tests.audio_fixtures import music_like, write_pyav, write_soundfile

    base = tmp_path_factory.mktemp("readme")
    (base / "shared").symlink_to(SHARED_DATA.parent)
    cwd = base / "work"
    cwd.mkdir()
    (cwd / "examples").symlink_to(ROOT / "examples")
    music = base / "Music"
    (music / "album").mkdir(parents=True)
    (music / "Artist").mkdir()
    sr = 22050
    write_pyav(music / "album" / "one.mp3", music_like(8.0, sr, seed=2), sr, "libmp3lame")
    write_soundfile(music / "album" / "two.flac", music_like(8.0, sr, seed=3), sr, "FLAC")
    write_soundfile(music / "Artist" / "song.flac", music_like(8.0, sr, seed=4), sr, "FLAC")
    write_soundfile(music / "a.flac", music_like(8.0, sr, seed=6), sr, "FLAC")  # playlists path
    write_pyav(music / "b.mp3", music_like(8.0, sr, seed=7), sr, "libmp3lame")
    write_pyav(cwd / "song.mp3", music_like(20.0, sr, seed=5), sr, "libmp3lame")
    rows = pd.read_csv(ROOT / "examples" / "tracks.csv")
    big = pd.concat([rows] * max(1, 2000 // len(rows)), ignore_index=True)
    big["id"] = [f"row{i}" for i in range(len(big))]
    big.to_parquet(cwd / "tracks.parquet")
    places = {"music": str(music), "song": "song.mp3", "parquet": "tracks.parquet"}
    return cwd, places


@pytest.mark.slow
def test_readme_commands_run_as_written(sandbox):
    cwd, places = sandbox
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIPY_")}
    env.update(
        TRACKMOOD_DB=str(cwd / "library.sqlite"),
        # nothing run here may reach a network service: any attempt fails at once
        TRACKMOOD_SPOTIFY_API_URL="http://127.0.0.1:9/v1",
        TRACKMOOD_SPOTIFY_ACCOUNTS_URL="http://127.0.0.1:9",
        TRACKMOOD_RECCOBEATS_URL="http://127.0.0.1:9",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]),
    )
    failures, ran = [], 0
    for cmd in ALL:
        if skip_reason(cmd):
            continue
        argv = substitute(cmd, places, cwd)
        if argv[0] == "trackmood":
            argv = [sys.executable, "-m", "trackmood", *argv[1:]]
        elif argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        ran += 1
        want = expected_code(cmd)
        if r.returncode != want:
            failures.append(
                f"README.md line {cmd.line}: `{cmd.text}` exited {r.returncode} (want {want}): "
                f"{r.stderr.strip()[-600:]}"
            )
    assert not failures, "\n".join(failures)
    assert ran >= 10
