"""kg.build: incremental builds (skip, replace, prune), parallel workers, and a build killed with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal

from bench.corpus import write_corpus
from kg.build import BuildReport, build, ntriples
from kg.cli import main
from kg.rdf import DEFAULT_BASE, KG, article_iri
from kg.store import PENDING_FILE, open_store
from kg.validate import validate

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PATH = str(KG.sourcePath)
ARTICLES_TO_KILL = 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 generated articles, 000/syn-000000.md … 000/syn-000029.md."""
    return write_corpus(30, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def clean(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, frozenset[str]]:
    """The article graphs of a one-process build of ``corpus`` (graph name → N-Quads lines)."""
    path = tmp_path_factory.mktemp("clean") / "store"
    with open_store(str(path)) as store:
        build([corpus], store, jobs=1)
    return graphs(path)


def graphs(store_dir: Path) -> dict[str, frozenset[str]]:
    """Graph name → its triples as N-Triples, read with pyoxigraph from a closed store."""
    found: dict[str, set[str]] = defaultdict(set)
    store = ox.Store.read_only(str(store_dir))
    for quad in store.quads_for_pattern(None, None, None, None):
        found[quad.graph_name.value].add(str(ox.Triple(quad.subject, quad.predicate, quad.object)))
    return {name: frozenset(triples) for name, triples in found.items()}


def run_build(tmp_path: Path, *paths: Path, **options: object) -> BuildReport:
    with open_store(str(tmp_path / "store")) as store:
        return build(list(paths), store, **options)  # type: ignore[arg-type]


def name(article_id: str) -> str:
    return str(article_iri(article_id, DEFAULT_BASE))


def copy_corpus(corpus: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(corpus, tmp_path / "articles"))


# --- incremental builds ---


@pytest.mark.parametrize("jobs", [1, 2])
def test_build_matches_clean_build_and_skips_unchanged(
    corpus: Path, clean: dict[str, frozenset[str]], tmp_path: Path, jobs: int
) -> None:
    articles = copy_corpus(corpus, tmp_path)
    report = run_build(tmp_path, articles, jobs=jobs)
    assert (report.articles, report.unchanged, report.failed) == (30, 0, 0)
    assert report.triples == sum(len(triples) for triples in clean.values())
    built = graphs(tmp_path / "store")
    assert len(built) == 30
    for graph, triples in built.items():  # the same graphs, but for the files' paths
        assert {t for t in triples if SOURCE_PATH not in t} == {t for t in clean[graph] if SOURCE_PATH not in t}
    path = str(articles / "000" / "syn-000007.md")
    assert f'<{name("syn-000007")}> <{SOURCE_PATH}> "{path}"' in "\n".join(built[name("syn-000007")])

    again = run_build(tmp_path, articles, jobs=jobs)
    assert (again.articles, again.unchanged, again.triples) == (0, 30, 0)
    assert graphs(tmp_path / "store") == built


def test_changed_article_replaces_its_graph(corpus: Path, tmp_path: Path) -> None:
    articles = copy_corpus(corpus, tmp_path)
    run_build(tmp_path, articles)
    before = graphs(tmp_path / "store")
    changed = articles / "000" / "syn-000003.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n2023年5月4日，赵一鸣正式加入北辰科技集团，出任副总裁。\n",
                       encoding="utf-8")
    (articles / "000" / "new.md").write_text("---\ntitle: 新文章\n---\n王磊加入腾讯公司。\n", encoding="utf-8")
    report = run_build(tmp_path, articles)  # one batch: a replaced graph and a new one
    assert (report.articles, report.unchanged) == (2, 29)
    after = graphs(tmp_path / "store")
    assert {g for g in after if after.get(g) != before.get(g)} == {name("syn-000003"), name("new")}

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    run_build(fresh, articles)
    assert graphs(fresh / "store") == after  # nothing of the old version is left


def test_moved_file_is_rebuilt_with_its_new_path(corpus: Path, tmp_path: Path) -> None:
    articles = copy_corpus(corpus, tmp_path)
    run_build(tmp_path, articles)
    (articles / "moved").mkdir()
    (articles / "000" / "syn-000004.md").rename(articles / "moved" / "syn-000004.md")
    report = run_build(tmp_path, articles, prune=True)
    assert (report.articles, report.unchanged, report.removed) == (1, 29, 0)
    assert str(articles / "moved" / "syn-000004.md") in "\n".join(graphs(tmp_path / "store")[name("syn-000004")])


def test_prune_removes_articles_whose_files_are_gone(corpus: Path, tmp_path: Path) -> None:
    articles = copy_corpus(corpus, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "extra.md").write_text("---\ntitle: 另一篇\n---\n张伟加入腾讯公司。\n", encoding="utf-8")
    run_build(tmp_path, articles, other)
    (articles / "000" / "syn-000001.md").unlink()
    (articles / "000" / "syn-000002.md").unlink()
    (other / "extra.md").unlink()

    kept = run_build(tmp_path, articles)  # without --prune nothing is removed
    assert (kept.unchanged, kept.removed) == (28, 0)
    assert len(graphs(tmp_path / "store")) == 31

    pruned = run_build(tmp_path, articles, prune=True)  # only under the given paths
    assert (pruned.unchanged, pruned.removed) == (28, 2)
    assert sorted(graphs(tmp_path / "store")) == sorted([name("extra"), *(name(f"syn-{n:06d}") for n in range(3, 30)),
                                                         name("syn-000000")])
    assert run_build(tmp_path, other, prune=True).removed == 1
    assert name("extra") not in graphs(tmp_path / "store")


def test_prune_jsonl_line_removed(tmp_path: Path) -> None:
    feed = write_corpus(6, tmp_path / "feed", fmt="jsonl")
    assert run_build(tmp_path, feed).articles == 6
    lines = feed.read_text(encoding="utf-8").splitlines()
    feed.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    report = run_build(tmp_path, feed, prune=True)
    assert (report.articles, report.unchanged, report.removed) == (0, 5, 1)
    assert name("syn-000002") not in graphs(tmp_path / "store")


def test_duplicate_ids_first_file_wins(corpus: Path, tmp_path: Path) -> None:
    articles = copy_corpus(corpus, tmp_path)
    (articles / "zz").mkdir()
    shutil.copy(articles / "000" / "syn-000005.md", articles / "zz" / "syn-000005.md")
    (articles / "zz" / "syn-000005.md").write_text("张伟加入腾讯公司。\n", encoding="utf-8")
    messages: list[str] = []

    class Sink:
        total, done = 0, 0

        def advance(self, n: int = 1) -> None:
            self.done += n

        def message(self, text: str) -> None:
            messages.append(text)

    sink = Sink()
    first = run_build(tmp_path, articles, progress=sink, jobs=2)
    assert (first.articles, first.duplicates) == (30, 1)
    assert sink.total == sink.done == 31
    assert any("syn-000005 was read from" in m and str(articles / "000") in m for m in messages)
    again = run_build(tmp_path, articles)  # stable: the second copy never replaces the first
    assert (again.articles, again.unchanged, again.duplicates) == (0, 30, 1)


def test_force_rebuilds_everything(corpus: Path, tmp_path: Path) -> None:
    articles = copy_corpus(corpus, tmp_path)
    run_build(tmp_path, articles)
    before = graphs(tmp_path / "store")
    report = run_build(tmp_path, articles, force=True, jobs=2)
    assert (report.articles, report.unchanged) == (30, 0)
    assert graphs(tmp_path / "store") == before


def test_failed_extraction_is_reported_and_retried(corpus: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.extract

    articles = copy_corpus(corpus, tmp_path)
    real = kg.extract.extract

    def flaky(article):  # type: ignore[no-untyped-def]
        if article.id == "syn-000009":
            raise RuntimeError("extractor bug")
        return real(article)

    monkeypatch.setattr(kg.extract, "extract", flaky)
    report = run_build(tmp_path, articles, jobs=1)
    assert (report.articles, report.failed) == (29, 1)
    assert name("syn-000009") not in graphs(tmp_path / "store")
    monkeypatch.setattr(kg.extract, "extract", real)
    again = run_build(tmp_path, articles, jobs=1)
    assert (again.articles, again.unchanged, again.failed) == (1, 29, 0)


def test_memory_store_holds_what_oxigraph_holds(corpus: Path, clean: dict[str, frozenset[str]]) -> None:
    """Written through the Store API (rdflib) rather than as TriG and SPARQL: the same graphs."""
    with open_store("memory") as store:
        report = build([corpus], store, jobs=1)
        assert report.articles == 30
        assert build([corpus], store).unchanged == 30
        held = {str(g.identifier): frozenset(str(ox.Triple(*map(oxigraph_term, t))) for t in g)
                for g in store.dataset.graphs() if str(g.identifier).startswith(f"{DEFAULT_BASE}article/")}
    assert held == clean


def oxigraph_term(term: object) -> ox.NamedNode | ox.Literal:
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)
    return ox.NamedNode(str(term))


def test_ntriples_escapes_literals() -> None:
    graph = Graph()
    graph.add((article_iri("a", DEFAULT_BASE), KG.evidence, Literal('他说："感谢\\百度"\r\n再见', lang="zh")))
    parsed = Graph().parse(data=ntriples(graph), format="nt")
    assert set(parsed) == set(graph)


def test_source_path_in_ontology_and_shapes(corpus: Path) -> None:
    ontology = Graph().parse(ROOT / "ontology" / "kg.ttl")
    labels = {lit.language for lit in ontology.objects(KG.sourcePath, Graph().namespace_manager.expand_curie("rdfs:label"))}
    assert labels == {"en", "zh"}
    with open_store("memory") as store:
        build([corpus / "000" / "syn-000000.md"], store)
        graph = store.union_graph()
    assert validate(graph) == []
    graph.add((article_iri("syn-000000", DEFAULT_BASE), KG.sourcePath, Literal("/elsewhere.md")))
    assert any("kg:sourcePath" in violation for violation in validate(graph))


# --- the command ---


def test_cli_build_options(capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert main(["--store", store, "build", str(corpus), "--jobs", "2", "--timings"]) == 0
    out = capsys.readouterr().out
    assert "built 30 articles" in out and "seconds: manifest" in out
    assert main(["--store", store, "build", str(corpus), "--prune"]) == 0
    assert "30 unchanged, 0 skipped, 0 removed" in capsys.readouterr().out
    assert main(["--store", store, "build", str(corpus), "--jobs", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err


# --- crash safety ---


def test_sigkill_then_rerun_keeps_every_article_exactly_once(tmp_path: Path) -> None:
    """Kill a real `kg build` (SIGKILL) at several points, rerunning it after each kill: the store,
    as kg opens it, only ever holds complete articles, and in the end exactly the articles of a
    clean build.

    Kill points: during start-up, while a batch is being bulk-loaded (the store notes its graphs
    in PENDING_FILE meanwhile), and while the next batch is being extracted (after a load).
    """
    articles = write_corpus(ARTICLES_TO_KILL, tmp_path / "corpus")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}

    def kg_build(store: Path) -> list[str]:
        return [sys.executable, "-m", "kg.cli", "--store", str(store), "build", str(articles), "--jobs", "2",
                "--batch", "20"]

    assert run_build(tmp_path, articles, jobs=2).failed == 0
    expected = graphs(tmp_path / "store")
    assert len(expected) == ARTICLES_TO_KILL

    store, counts, recovered = tmp_path / "killed", [], []
    pending = store / PENDING_FILE
    for loads, delay in ((0, 0.3), (1, 0.0), (2, 0.05), (3, 0.0)):
        process = subprocess.Popen(kg_build(store), env=environment, cwd=ROOT, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen, loading = 0, False
        while process.poll() is None and seen < loads:  # count the loads that start
            now = pending.exists()
            seen += now and not loading
            loading = now
        if loads and delay:  # after the last load counted has ended
            while process.poll() is None and pending.exists():
                pass
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the orphaned workers, if any are left
        if store.exists():
            with open_store(str(store)) as opened:  # as every kg command opens it
                recovered.append(opened.recovered)
            assert not pending.exists()
        partial = graphs(store) if store.exists() else {}
        assert all(partial[g] == expected[g] for g in partial), "a partial or changed article graph"
        counts.append(len(partial))
    assert any(0 < n < ARTICLES_TO_KILL for n in counts), f"no kill while the build was writing: {counts}"
    assert any(recovered), f"no kill during a bulk load: {counts}"
    assert counts == sorted(counts)

    result = subprocess.run(kg_build(store), env=environment, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "built" in result.stdout
    assert graphs(store) == expected


