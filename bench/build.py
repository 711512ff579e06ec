"""Build throughput at scale: generated corpora of growing size, built with 1 and 2 worker processes.

    python bench/build.py [--sizes 1000,10000,100000] [--jobs 1,2] [--work DIR] [--format files|jsonl]

For each size, generates the corpus once (bench/corpus.py, kept in ``DIR``), then for each job
count builds it into a fresh Oxigraph store in a separate process and measures: wall time,
articles/s, facts/s, triples written, store size on disk, peak memory (resident set of the
builder process and of its largest worker, from ``resource.getrusage``), CPU seconds (builder
and workers), the seconds of each stage (kg.build.BuildReport.stages), the time of a second,
unchanged build (incremental: nothing to do), and the recall of the generated facts, read back
from the store and scored with kg.evaluate. Prints a table, the stages and the growth curve, and
keeps the figures in ``DIR/results.json``.

The load average before each run is printed too: other processes on the machine slow builds down.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: python bench/build.py
    sys.path.insert(0, str(ROOT))

from bench.corpus import write_corpus  # noqa: E402

FACTS = """PREFIX kg: <https://w3id.org/kg-news/ontology#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?a ?s ?p ?o WHERE {
  ?f a kg:Fact ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; prov:wasDerivedFrom ?a
}"""


def run_build(corpus: Path, store: Path, jobs: int) -> dict:
    """Build ``corpus`` into ``store`` in this process; the report, timings and resource use."""
    from kg.build import build
    from kg.store import open_store

    started = time.monotonic()
    with open_store(str(store)) as opened:
        report = build([corpus], opened, jobs=jobs)
    seconds = time.monotonic() - started
    me, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": seconds, "articles": report.articles, "unchanged": report.unchanged, "facts": report.facts,
        "triples": report.triples, "failed": report.failed, "stages": report.stages,
        "cpu": me.ru_utime + me.ru_stime, "worker_cpu": workers.ru_utime + workers.ru_stime,
        "rss_mb": me.ru_maxrss / 1024, "worker_rss_mb": workers.ru_maxrss / 1024,
    }


def measure(corpus: Path, store: Path, jobs: int) -> dict:
    """``run_build`` in a fresh process, so that its memory and CPU are its own."""
    code = f"import json; from bench.build import run_build; from pathlib import Path; " \
           f"print(json.dumps(run_build(Path({str(corpus)!r}), Path({str(store)!r}), {jobs})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def recall(store: Path, gold_file: Path) -> float:
    """Recall of the gold facts among the facts the store holds (scored one article at a time)."""
    import pyoxigraph as ox

    from kg.evaluate import Counts, evaluate
    from kg.rdf import DEFAULT_BASE, KG, name_from_iri

    predicted: dict[str, list[dict]] = defaultdict(list)
    article = f"{DEFAULT_BASE}article/"
    for row in ox.Store.read_only(str(store)).query(FACTS, use_default_graph_as_union=True):
        doc = row["a"].value.removeprefix(article)
        predicted[doc].append({
            "doc": doc, "subject": name_from_iri(row["s"].value, DEFAULT_BASE),
            "predicate": row["p"].value.removeprefix(str(KG)), "object": name_from_iri(row["o"].value, DEFAULT_BASE),
        })
    gold: dict[str, list[dict]] = defaultdict(list)
    with open(gold_file, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if "entity" not in row:
                gold[row["doc"]].append(row)
    total = Counts()
    for doc, rows in gold.items():  # evaluate() compares every prediction with every gold row
        facts = evaluate(rows, predicted.get(doc, [])).facts
        total.tp, total.fp, total.fn = total.tp + facts.tp, total.fp + facts.fp, total.fn + facts.fn
    return total.recall


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes (default 1000,10000,100000)")
    parser.add_argument("--jobs", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--work", type=Path, default=Path("bench-work"),
                        help="folder for the corpora and stores (default ./bench-work)")
    parser.add_argument("--format", choices=("files", "jsonl"), default="files", help="corpus layout (default files)")
    parser.add_argument("--keep", action="store_true", help="keep the stores (corpora are always kept)")
    args = parser.parse_args(argv)
    sizes, job_counts = [int(n) for n in args.sizes.split(",")], [int(j) for j in args.jobs.split(",")]

    results: list[dict] = []
    for n in sizes:
        folder = args.work / f"corpus-{n}-{args.format}"
        corpus = folder / ("articles.jsonl" if args.format == "jsonl" else "articles")
        if not (folder / "gold.jsonl").exists():
            print(f"generating {n} articles in {folder} …", flush=True)
            write_corpus(n, folder, args.format)
        for jobs in job_counts:
            store = args.work / f"store-{n}-j{jobs}"
            shutil.rmtree(store, ignore_errors=True)
            load = os.getloadavg()[0]
            print(f"building {n} articles with --jobs {jobs} (load average {load:.1f}) …", flush=True)
            full = measure(corpus, store, jobs)
            again = measure(corpus, store, jobs)
            result = {"n": n, "jobs": jobs, "load": load, **full, "rebuild": again["seconds"],
                      "rebuild_unchanged": again["unchanged"], "rebuild_stages": again["stages"],
                      "store_mb": size_mb(store),
                      "recall": recall(store, folder / "gold.jsonl")}
            results.append(result)
            print(json.dumps(result), flush=True)
            (args.work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
            if not args.keep:
                shutil.rmtree(store)
    report(results)


def report(results: list[dict]) -> None:
    """Print the table, the stages and the growth curve."""
    print()
    print("| articles | jobs | load | build s | articles/s | facts/s | triples | store MB | peak RSS MB (main / worker)"
          " | CPU s (main + workers) | unchanged rebuild s | recall |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['n']:,} | {r['jobs']} | {r['load']:.1f} | {r['seconds']:.1f} | {r['articles'] / r['seconds']:.0f} "
              f"| {r['facts'] / r['seconds']:.0f} | {r['triples']:,} | {r['store_mb']:.0f} "
              f"| {r['rss_mb']:.0f} / {r['worker_rss_mb']:.0f} | {r['cpu']:.0f} + {r['worker_cpu']:.0f} "
              f"| {r['rebuild']:.1f} ({100 * r['rebuild'] / r['seconds']:.1f} %) | {r['recall']:.3f} |")
    print()
    print("Seconds per stage (read, extract and rdf: summed over the workers; the others: in the main process)")
    print()
    stages = list(results[0]["stages"]) if results else []
    print("| articles | jobs | " + " | ".join(stages) + " |")
    print("|---:|---:|" + "---:|" * len(stages))
    for r in results:
        print(f"| {r['n']:,} | {r['jobs']} | " + " | ".join(f"{r['stages'][s]:.1f}" for s in stages) + " |")
    print()
    print("Unchanged rebuilds: seconds reading the store's manifest, listing and hashing the files, and in all")
    print()
    print("| articles | jobs | manifest | scan | total |\n|---:|---:|---:|---:|---:|")
    for r in results:
        stages_ = r.get("rebuild_stages", {})
        print(f"| {r['n']:,} | {r['jobs']} | {stages_.get('manifest', 0):.1f} | {stages_.get('scan', 0):.1f} "
              f"| {r['rebuild']:.1f} |")
    print()
    print("Growth curve: milliseconds per article (flat = linear growth)")
    longest = max((r["seconds"] / r["n"] for r in results), default=1.0)
    for r in results:
        per_article = 1000 * r["seconds"] / r["n"]
        bar = "#" * max(1, round(40 * r["seconds"] / r["n"] / longest))
        print(f"  {r['n']:>7,} articles, --jobs {r['jobs']}: {per_article:6.2f} ms  {bar}")


if __name__ == "__main__":
    main()
