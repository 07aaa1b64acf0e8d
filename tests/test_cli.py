"""The spine as a user runs it: the real `newsdesk` command in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SEED_DIR, run_cli


@pytest.fixture(scope="module")
def seed_dir_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("cli-index")
    result = run_cli("ingest", str(SEED_DIR), "--index-dir", str(index))
    assert result.returncode == 0, result.stderr
    assert "5 stories" in result.stdout and "date unknown" in result.stdout
    return index


def test_ask_cites_the_amd_samsung_story(seed_dir_index: Path) -> None:
    result = run_cli("ask", "--json", "Who will supply HBM4 memory for AMD's MI455X?", "--index-dir",
                     str(seed_dir_index))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"answer", "refused", "citations"}
    assert data["refused"] is False
    assert data["citations"][0]["headline"] == "AMD + Samsung: HBM4 for the MI455X"
    assert "Samsung" in data["answer"] and "[1]" in data["answer"]
    for c in data["citations"]:
        assert set(c) >= {"n", "issue", "date", "headline", "url", "snippet", "score"}
        assert f"[{c['n']}]" in data["answer"]


def test_out_of_archive_question_is_refused(seed_dir_index: Path) -> None:
    result = run_cli("ask", "--json", "What is the capital of France?", "--index-dir", str(seed_dir_index))
    data = json.loads(result.stdout)
    assert data["refused"] is True and data["citations"] == []


def test_text_output_has_sources(seed_dir_index: Path) -> None:
    result = run_cli("ask", "Who will supply HBM4 memory for AMD's MI455X?", "--index-dir", str(seed_dir_index))
    assert result.returncode == 0
    assert "Sources:" in result.stdout and "[1]" in result.stdout


def test_bad_inputs_one_line_each_and_nothing_written(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (tmp_path / "latin.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d" * 20)
    args = [str(tmp_path / "missing.md"), str(empty_dir), str(tmp_path / "empty.md"), str(tmp_path / "blob.txt"),
            str(tmp_path / "latin.txt")]
    result = run_cli("ingest", *args, "--index-dir", str(index))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for name, reason in (("missing.md", "no such file"), ("nothing", "no supported issue files"),
                         ("empty.md", "empty file"), ("blob.txt", "binary"), ("latin.txt", "")):
        line = next((ln for ln in result.stderr.splitlines() if name in ln), "")
        assert line and reason in line, result.stderr
    assert not (index / "CURRENT").exists()


def test_ask_without_index_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("ask", "anything", "--index-dir", str(tmp_path / "none"))
    assert result.returncode != 0
    assert "no index" in result.stderr and "Traceback" not in result.stderr


def test_empty_and_huge_questions(seed_dir_index: Path) -> None:
    for question, expected in (("   ", "empty"), ("x" * 10_000, "limit")):
        result = run_cli("ask", question, "--index-dir", str(seed_dir_index))
        assert result.returncode != 0 and expected in result.stderr
        assert "Traceback" not in result.stderr
