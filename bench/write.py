"""Writing article graphs into Oxigraph: a transaction a batch (``Store.load``) against the bulk
loader (``Store.bulk_load``, what kg build uses), side by side on stores that grow.

    python bench/write.py [--articles 1500] [--rounds 8]

Generates ``--articles`` articles (bench/corpus.py), extracts them and serialises their graphs
as TriG once. Each round writes all of them again, under IRIs of their own (so that every round
adds new terms, as new articles do), into two fresh stores that grow round by round: one in
transactions of about 15,000 triples, the other bulk-loaded in batches of about 120,000 (kg
build's default). Both writes of a round run one after the other, so that the machine's load
affects both alike; prints the seconds of each and their ratio, round by round, then the
seconds of a final flush and of one query on each store.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: python bench/write.py
    sys.path.insert(0, str(ROOT))

from bench.corpus import generate  # noqa: E402
from kg.articles import parse_article  # noqa: E402
from kg.build import ntriples  # noqa: E402
from kg.extract import extract  # noqa: E402
from kg.rdf import DEFAULT_BASE, article_iri, article_triples  # noqa: E402

TRANSACTION_TRIPLES = 15_000
BULK_TRIPLES = 120_000
LABELS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o } }"


def article_graphs(n: int) -> list[tuple[str, int]]:
    """TriG blocks of ``n`` generated articles' graphs, with their triple counts."""
    blocks = []
    for doc in generate(n):
        article = parse_article(doc.markdown(), doc.id)
        triples = article_triples(extract(article), DEFAULT_BASE)
        blocks.append((f"<{article_iri(doc.id, DEFAULT_BASE)}> {{\n{ntriples(triples)}\n}}", len(triples)))
    return blocks


def batches(blocks: list[tuple[str, int]], round_: int, size: int) -> list[str]:
    """The blocks under IRIs of round ``round_``, joined in batches of about ``size`` triples."""
    out, current, count = [], [], 0
    for block, triples in blocks:
        current.append(block.replace(DEFAULT_BASE, f"{DEFAULT_BASE}r{round_}/"))
        count += triples
        if count >= size:
            out.append("\n".join(current))
            current, count = [], 0
    if current:
        out.append("\n".join(current))
    return out


def timed(write: object, texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        write(text, ox.RdfFormat.TRIG)  # type: ignore[operator]
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1500, help="articles a round (default 1500)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds (default 8)")
    args = parser.parse_args(argv)

    print(f"extracting {args.articles} generated articles …", flush=True)
    blocks = article_graphs(args.articles)
    per_round = sum(triples for _, triples in blocks)
    work = Path(tempfile.mkdtemp(prefix="kg-bench-write-"))
    try:
        transactional, bulk = ox.Store(str(work / "transactions")), ox.Store(str(work / "bulk"))
        print("| round | triples in store | transactions s | bulk load s | ratio |\n|---:|---:|---:|---:|---:|")
        totals = [0.0, 0.0]
        for round_ in range(args.rounds):
            one = timed(transactional.load, batches(blocks, round_, TRANSACTION_TRIPLES))
            two = timed(bulk.bulk_load, batches(blocks, round_, BULK_TRIPLES))
            totals[0] += one
            totals[1] += two
            print(f"| {round_ + 1} | {per_round * (round_ + 1):,} | {one:.2f} | {two:.2f} | {one / two:.1f}× |",
                  flush=True)
        flushes = []
        for store in (transactional, bulk):
            started = time.perf_counter()
            store.flush()
            flushes.append(time.perf_counter() - started)
        totals = [total + flush for total, flush in zip(totals, flushes, strict=True)]
        print(f"| flush | | {flushes[0]:.2f} | {flushes[1]:.2f} | |")
        print(f"| total | | {totals[0]:.2f} | {totals[1]:.2f} | {totals[0] / totals[1]:.1f}× |")
        for name, store in (("transactions", transactional), ("bulk load", bulk)):
            started = time.perf_counter()
            count = next(iter(store.query(LABELS)))[0].value
            print(f"query on the {name} store: {count} labels in {time.perf_counter() - started:.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
