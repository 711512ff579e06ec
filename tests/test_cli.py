"""The kg command, called through main([...])."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph

from kg.cli import COMMANDS, Progress, _width, main
from kg.rdf import DEFAULT_BASE
from kg.store import FORMATS, PENDING_FILE, open_store

ENT = f"{DEFAULT_BASE}entity/"


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A folder with a UTF-8 Markdown article, a GBK text article and a binary file."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "zhang-joins.md").write_text(
        "---\ntitle: 张伟加盟腾讯\ndate: 2025-03-02\nsource: https://example.com/a/1\n---\n"
        "2025年3月1日，张伟加入腾讯公司，出任副总裁。张伟此前曾任百度公司技术总监。\n",
        encoding="utf-8",
    )
    (folder / "gbk-news.txt").write_bytes(
        "华为任命新财务官\n\n华为公司宣布，李娜出任华为公司首席财务官，向董事长汇报。\n".encode("gbk")
    )
    (folder / "broken.txt").write_bytes(bytes(range(256)) * 8)
    return folder


@pytest.fixture
def need_extractor() -> None:
    pytest.importorskip("kg.extract")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def triple_count(store: str) -> int:
    with open_store(store, create=False) as opened:
        return len(opened)


# --- build and extract ---


@pytest.mark.usefixtures("need_extractor")
def test_build_reads_gbk_skips_binary_and_replaces(
    capsys: pytest.CaptureFixture[str], articles: Path, tmp_path: Path
) -> None:
    store = str(tmp_path / "kg-store")
    status, out, err = run(capsys, "--store", store, "build", str(articles))
    assert status == 0
    assert "broken.txt" in err and "skipped" in err
    assert re.search(r"built 2 articles \(\d+ facts, \d+ entities\), 1 skipped in [\d.]+ s", out)
    first = triple_count(store)
    assert first > 0

    status, out, _ = run(capsys, "build", str(articles), "--store", store)  # options after the command
    assert status == 0
    assert triple_count(store) == first

    status, out, _ = run(capsys, "--store", store, "query", "--format", "csv",
                         "SELECT ?title WHERE { art:gbk-news dcterms:title ?title }")
    assert status == 0
    assert "华为任命新财务官" in out


def built_store(capsys: pytest.CaptureFixture[str], articles: Path, tmp_path: Path) -> str:
    """A store that `kg build` built from ``articles``."""
    store = str(tmp_path / "kg-store")
    assert run(capsys, "--store", store, "build", str(articles))[0] == 0
    return store


@pytest.mark.usefixtures("need_extractor")
def test_build_incremental_skips_unchanged(
    capsys: pytest.CaptureFixture[str], articles: Path, tmp_path: Path
) -> None:
    store = built_store(capsys, articles, tmp_path)
    status, out, _ = run(capsys, "--store", store, "build", str(articles))
    assert status == 0
    assert "built 0 articles" in out and "2 unchanged" in out


@pytest.mark.usefixtures("need_extractor")
def test_build_after_an_interrupted_load_drops_and_rebuilds_its_articles(
    capsys: pytest.CaptureFixture[str], articles: Path, tmp_path: Path
) -> None:
    store = built_store(capsys, articles, tmp_path)
    complete = triple_count(store)
    with open_store(store) as opened:
        names = [name for (name,) in opened.rows("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?g a kg:Article } }")]
        opened._ox.remove(next(iter(opened._ox.quads_for_pattern(None, None, None, ox.NamedNode(names[0])))))
    (Path(store) / PENDING_FILE).write_text(f"<{names[0]}>", encoding="utf-8")  # as a killed bulk load leaves it
    status, out, err = run(capsys, "--store", store, "build", str(articles))
    assert status == 0
    assert "dropped 1 article graphs that an interrupted build was writing" in err
    assert "built 1 articles" in out and "1 unchanged" in out
    assert triple_count(store) == complete and not (Path(store) / PENDING_FILE).exists()


@pytest.mark.usefixtures("need_extractor")
def test_build_with_nothing_readable_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "junk.txt").write_bytes(b"\x00\x01\x02" * 100)
    status, _, err = run(capsys, "--store", str(tmp_path / "s"), "build", str(tmp_path / "junk.txt"),
                         str(tmp_path / "missing.md"))
    assert status == 1
    assert "junk.txt" in err and "missing.md" in err and "no article could be read" in err


@pytest.mark.usefixtures("need_extractor")
def test_extract_prints_jsonl(capsys: pytest.CaptureFixture[str], articles: Path) -> None:
    status, out, err = run(capsys, "extract", str(articles))
    assert status == 0
    assert "broken.txt" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["doc"] for r in rows} <= {"zhang-joins", "gbk-news"}
    entities = [r for r in rows if "entity" in r]
    facts = [r for r in rows if "predicate" in r]
    assert entities and all(set(r) == {"doc", "entity", "type"} for r in entities)
    assert all({"doc", "subject", "predicate", "object", "evidence", "confidence"} <= set(r) for r in facts)
    assert not any("\\u" in line for line in out.splitlines())  # Chinese as written

    status, out, _ = run(capsys, "extract", "--min-confidence", "1.01", str(articles))
    assert status == 0
    assert all("entity" in json.loads(line) for line in out.splitlines())


# --- query ---


def test_query_table_shortens_and_aligns(capsys: pytest.CaptureFixture[str], store_dir: str) -> None:
    status, out, _ = run(capsys, "--store", store_dir, "query",
                         "SELECT ?who ?org WHERE { ?who kg:joined ?org }")
    assert status == 0
    header, rule, row, count = out.splitlines()
    assert header.split() == ["who", "org"]
    assert row.split() == ["ent:张伟", "ent:腾讯"]
    # The second column starts at the same display column in every line.
    assert _width(row[: row.index("ent:腾讯")]) == len(header[: header.index("org")])
    assert count == "(1 row)"


def test_query_formats(capsys: pytest.CaptureFixture[str], store_dir: str, tmp_path: Path) -> None:
    query = "SELECT ?unit ?org WHERE { ?unit kg:subunit_of ?org }"
    status, out, _ = run(capsys, "--store", store_dir, "query", "--format", "json", query)
    assert status == 0
    bindings = json.loads(out)["results"]["bindings"]
    assert bindings == [{"unit": {"type": "uri", "value": f"{ENT}腾讯云"},
                         "org": {"type": "uri", "value": f"{ENT}腾讯"}}]

    status, out, _ = run(capsys, "--store", store_dir, "query", "--format", "csv", query)
    assert list(csv.reader(io.StringIO(out))) == [["unit", "org"], [f"{ENT}腾讯云", f"{ENT}腾讯"]]

    status, out, _ = run(capsys, "--store", store_dir, "query", "ASK { ent:张伟 kg:joined ent:腾讯 }")
    assert (status, out) == (0, "true\n")

    rq = tmp_path / "q.rq"
    rq.write_text("CONSTRUCT { ?s kg:left ?o } WHERE { ?s kg:left ?o }", encoding="utf-8")
    status, out, _ = run(capsys, "--store", store_dir, "query", f"@{rq}")
    assert status == 0
    assert "ent:王强 kg:left ent:百度" in out
    assert len(Graph().parse(data=out, format="turtle")) == 1


def test_query_errors(capsys: pytest.CaptureFixture[str], store_dir: str, tmp_path: Path) -> None:
    status, out, err = run(capsys, "--store", store_dir, "query", "SELECT ?x WHERE { ?x ?y")
    assert status == 2 and not out
    assert "bad SPARQL" in err
    status, _, err = run(capsys, "--store", store_dir, "query", f"@{tmp_path / 'none.rq'}")
    assert status == 1 and "cannot read query file" in err


# --- export, remove, validate, stats ---


@pytest.mark.parametrize("fmt", FORMATS)
def test_export(capsys: pytest.CaptureFixture[str], store_dir: str, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    assert run(capsys, "--store", store_dir, "export", "--format", fmt, "-o", str(target))[0] == 0
    status, out, _ = run(capsys, "--store", store_dir, "export", "--format", fmt)
    assert status == 0
    assert out.encode() == target.read_bytes()
    parsed = Dataset()
    parsed.parse(target, format=FORMATS[fmt][1])
    triples = {(s, p, o) for s, p, o, _ in parsed.quads()}
    assert len(triples) == triple_count(store_dir)


def test_export_one_graph(capsys: pytest.CaptureFixture[str], store_dir: str) -> None:
    status, out, _ = run(capsys, "--store", store_dir, "export", "--graph", "zhang-joins")
    assert status == 0
    assert "ent:张伟" in out and "ent:李娜" not in out
    status, _, err = run(capsys, "--store", store_dir, "export", "--graph", "nope")
    assert status == 1 and "no article nope" in err


def test_remove(capsys: pytest.CaptureFixture[str], store_dir: str) -> None:
    status, out, _ = run(capsys, "--store", store_dir, "remove", "wang-leaves")
    assert (status, out) == (0, "removed wang-leaves\n")
    status, out, err = run(capsys, "--store", store_dir, "remove", "zhang-joins", "wang-leaves")
    assert status == 1
    assert out == "removed zhang-joins\n" and "no article wang-leaves" in err
    status, out, _ = run(capsys, "--store", store_dir, "stats", "--json")
    assert json.loads(out)["articles"] == 1


def test_validate(
    capsys: pytest.CaptureFixture[str], store_dir: str, tmp_path: Path, make_graph: Callable[..., Graph]
) -> None:
    status, out, _ = run(capsys, "--store", store_dir, "validate")
    assert status == 0
    assert out == f"valid: {triple_count(store_dir)} triples\n"

    bad = str(tmp_path / "bad-store")
    with open_store(bad) as opened:  # confidences outside [0, 1] violate the shapes
        opened.replace_article(make_graph("zhang-joins", confidence=1.5))
    status, out, err = run(capsys, "--store", bad, "validate")
    assert status == 1
    assert "kg:confidence" in out and "2 violations" in err


def test_stats(capsys: pytest.CaptureFixture[str], store_dir: str) -> None:
    status, out, _ = run(capsys, "--store", store_dir, "stats", "--json")
    assert status == 0
    stats = json.loads(out)
    assert (stats["articles"], stats["facts"]) == (3, 5)
    status, out, _ = run(capsys, "--store", store_dir, "stats")
    assert status == 0
    lines = dict(line.rsplit(None, 1) for line in out.splitlines())
    assert lines["articles"] == "3" and lines["entities Person"] == "3"
    assert lines["relation joined"] == "1" and "relation acquired" not in lines


# --- options and errors ---


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(capsys: pytest.CaptureFixture[str], command: str | None) -> None:
    status, out, _ = run(capsys, *([command] if command else []), "--help")
    assert status == 0
    assert out.startswith("usage: kg")


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys)
    assert status == 2 and "usage:" in err
    status, _, err = run(capsys, "export", "--format", "rdfxml")
    assert status == 2 and "invalid choice" in err


def test_bad_store_paths(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    afile = tmp_path / "store.txt"
    afile.write_text("x")
    status, _, err = run(capsys, "--store", str(afile), "stats")
    assert status == 1 and "cannot open store" in err and "not a directory" in err
    status, _, err = run(capsys, "--store", str(tmp_path / "missing"), "query", "ASK {}")
    assert status == 1 and "no such store" in err
    assert not (tmp_path / "missing").exists()


def test_store_and_base_from_environment(
    capsys: pytest.CaptureFixture[str], store_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KG_STORE", store_dir)
    status, out, _ = run(capsys, "stats", "--json")
    assert status == 0 and json.loads(out)["articles"] == 3
    # With another base the same store has no articles under it.
    status, out, _ = run(capsys, "--base", "http://example.org/", "query", "--format", "csv",
                         "SELECT ?p WHERE { ?p kg:joined ent:腾讯 }")
    assert out.splitlines() == ["p"]


def test_progress_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with Progress(3, "files", stream) as progress:
        progress.advance()
        progress.message("kg: skipped x.txt: binary file")
        progress.advance(2)
    text = stream.getvalue()
    assert "kg: skipped x.txt: binary file\n" in text
    assert "3/3 files" in text and "/s" in text
    assert text.endswith("\r\x1b[K")

    quiet = io.StringIO()
    with Progress(3, "files", quiet) as progress:
        progress.advance(3)
    assert quiet.getvalue() == ""


def test_width_counts_wide_characters() -> None:
    assert _width("ent:许主洪") == 10
    assert _width("ＡＢ") == 4
