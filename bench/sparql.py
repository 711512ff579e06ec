"""SPARQL speed: five typical queries through kg (its Store API and its endpoint engine) vs raw
pyoxigraph vs rdflib's in-memory store, and /sparql requests per second under bounded concurrent
load on loopback.

    python bench/sparql.py [--triples 1000000] [--repeat 20] [--budget 1] [--rdflib-repeat 5]
                           [--concurrency 8] [--seconds 10] [--workers 2]

Generates a news graph in kg's model (kg.rdf.article_graph on synthetic articles: people, companies,
units, products and their facts) of about --triples triples and loads it into a kg Oxigraph store.
Each query is then timed, the kg and pyoxigraph runs interleaved in a random order so that machine
noise hits all alike, each at least --repeat times and up to --budget seconds:

- rows read into Python, on the store's own pyoxigraph handle:
  pyoxigraph: ``query()`` and every solution as a tuple of pyoxigraph terms;
  Store.rows: ``kg.store.Store.rows``, every row as a tuple of strings (what kg's hot paths use);
  Store.query: ``kg.store.Store.query``, every row as rdflib terms (the rdflib-compatible API);
  rdflib: ``query()`` on an in-memory rdflib Dataset of the same quads (skipped with --rdflib-repeat 0);
- a SPARQL JSON results document, on a read-only handle as a query worker opens it:
  pyoxigraph: ``query()`` + pyoxigraph's JSON serializer;
  endpoint: what /sparql does besides HTTP and the hand-over to a worker process: the safety
  inspection (server.safety.QueryInspector), then server.engine.OxigraphEngine: evaluation, row
  cap, serialization.

p50/p95 per query and the ratios to pyoxigraph are printed. Then `kg serve` is started on the store
and --concurrency clients send queries for --seconds seconds (0: skipped) over keep-alive
connections: requests per second, latency p50/p95.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
from rdflib import RDF, RDFS, Dataset, Graph

from kg.model import Article, Entity, Extraction, Fact
from kg.rdf import DEFAULT_BASE, KG, article_graph
from kg.store import open_store
from server.engine import OxigraphSource, QueryJob
from server.safety import QueryInspector

ROOT = Path(__file__).resolve().parent.parent
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志宏嘉文博思远雨晨子轩"
COMPANY_STEMS = "星河云帆天穹北辰灵犀凌云远航启明华信中科海纳博远泰和鼎新长风万象光年"
COMPANY_KINDS = ("科技集团", "智能公司", "网络公司", "数据公司", "半导体公司")
UNIT_KINDS = ("云服务事业群", "智能终端事业群", "研究院", "国际业务部")
TITLES = ("首席执行官", "首席技术官", "副总裁", "总经理", "首席财务官", "技术总监")
PREFIXES = """PREFIX kg: <https://w3id.org/kg-news/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX ent: <http://127.0.0.1:5000/entity/>
"""


def people(count: int) -> list[str]:
    """``count`` distinct Chinese names: surname + one or two given characters."""
    names = [s + g for s in SURNAMES for g in GIVEN] + [s + g + h for s in SURNAMES for g in GIVEN for h in GIVEN]
    random.Random(7).shuffle(names)
    return names[:count]


def companies() -> list[str]:
    return [a + b + kind for a in COMPANY_STEMS[::2] for b in COMPANY_STEMS[1::2] for kind in COMPANY_KINDS]


def generate(target: int) -> list[Graph]:
    """Article graphs (kg.rdf.article_graph) until about ``target`` triples in all."""
    rng = random.Random(42)
    orgs = companies()
    pools = {
        "orgs": orgs,
        "units": [f"{org[:2]}{kind}" for org in orgs[::5] for kind in UNIT_KINDS],
        "persons": people(max(2_000, target // 40)),
        "products": [f"{org[:2]}{n}号" for org in orgs[::3] for n in range(1, 6)],
    }
    graphs: list[Graph] = []
    total = 0
    while total < target:
        graphs.append(news_article(len(graphs), rng, pools))
        total += len(graphs[-1])
    return graphs


def news_article(n: int, rng: random.Random, pools: dict[str, list[str]]) -> Graph:
    """The graph of article ``n``: three people join, hold or leave a position at one company, a
    reporting line, a unit and a product of that company."""
    doc, text = f"bench-{n:06d}", f"第{n}篇新闻。"
    org = rng.choice(pools["orgs"])
    date = f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02d}"
    statements = [
        (rng.choice(pools["persons"]), "Person", rng.choice(("joined", "holds_position", "left")), org,
         "Organization", rng.choice(TITLES), date)
        for _ in range(3)
    ]
    statements += [
        (rng.choice(pools["persons"]), "Person", "reports_to", rng.choice(pools["persons"]), "Person", None, None),
        (rng.choice(pools["units"]), "Organization", "subunit_of", org, "Organization", None, None),
        (rng.choice(pools["products"]), "Product", "belongs_to", org, "Organization", None, None),
    ]
    facts = [Fact(doc, s, st, p, o, ot, text, 0, len(text), f"{p}.bench", 0.9, role, when)
             for s, st, p, o, ot, role, when in statements]
    entities: dict[str, Entity] = {}
    for f in facts:
        entities.setdefault(f.subject, Entity(f.subject, f.subject_type))
        entities.setdefault(f.object, Entity(f.object, f.object_type))
    article = Article(doc, f"新闻{n}", text, text, list(range(len(text) + 1)), date=f"{date}-01", content_hash=f"h{n}")
    return article_graph(Extraction(article, facts, list(entities.values())), DEFAULT_BASE)


def queries(person: str, org: str) -> dict[str, str]:
    """The five queries, on one person and one organisation of the graph."""
    return {
        "label lookup": f'{PREFIXES}SELECT DISTINCT ?e WHERE {{ ?e rdfs:label "{person}"@zh }}',
        "1-hop neighbourhood": f"{PREFIXES}SELECT DISTINCT ?p ?n WHERE {{ {{ ent:{org} ?p ?n }} UNION "
                               f"{{ ?n ?p ent:{org} }} }}",
        "2-hop join": f"{PREFIXES}SELECT DISTINCT ?colleague ?org WHERE {{ ent:{person} kg:joined|kg:holds_position "
                      "?org . ?colleague kg:joined|kg:holds_position ?org }",
        "COUNT by type": f"{PREFIXES}SELECT ?type (COUNT(DISTINCT ?e) AS ?n) WHERE {{ ?e a ?type }} GROUP BY ?type",
        "CONTAINS filter": f'{PREFIXES}SELECT DISTINCT ?e ?label WHERE {{ ?e a kg:Organization ; rdfs:label ?label '
                           'FILTER(CONTAINS(STR(?label), "云帆")) }',
    }


def p50_p95(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def interleaved(runs: dict[str, Callable[[], object]], repeat: int, budget: float, rng: random.Random
                ) -> dict[str, list[float]]:
    """Milliseconds of each run, after two warm-up rounds (the second estimates the time a run
    takes): rounds in a random order, at least ``repeat`` and as many more as fit in ``budget``
    seconds per run (at most 2,000)."""
    for run in runs.values():
        run()
    started = time.perf_counter()
    for run in runs.values():
        run()
    per_run = (time.perf_counter() - started) / len(runs)
    rounds = max(repeat, min(2_000, int(budget / max(per_run, 1e-6))))
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            run = runs[name]
            started = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def bench_queries(path: str, graphs: list[Graph], args: argparse.Namespace) -> None:
    """Time the five queries on each path and print p50/p95 and ratios to pyoxigraph."""
    kg_store = open_store(path, DEFAULT_BASE, create=False)
    native = kg_store._ox  # the store's own pyoxigraph handle: only what kg adds is compared
    engine = OxigraphSource(path, dict(kg_store.prefixes)).open()
    worker_handle = engine.store  # the read-only handle of a query worker
    inspect = QueryInspector(DEFAULT_BASE, kg_store.prefixes)
    json_format = ox.QueryResultsFormat.JSON
    rdflib_dataset = None
    if args.rdflib_repeat:
        started = time.perf_counter()
        rdflib_dataset = Dataset(default_union=True)
        for graph in graphs:
            named = rdflib_dataset.graph(graph.identifier)
            named += graph
        print(f"rdflib in-memory dataset loaded in {time.perf_counter() - started:.0f} s")

    def endpoint(text: str) -> bytes:
        answer = engine.execute(QueryJob(text, inspect(text) or "SELECT", "json"))
        assert not answer.truncated, "a bench query hit the row cap"
        return answer.body

    person, org = _sample_entities(graphs)
    rng = random.Random(1)
    rows_table, json_table = [], []
    for name, text in queries(person, org).items():
        times = interleaved({
            "pyoxigraph": lambda t=text: [tuple(s) for s in native.query(t, use_default_graph_as_union=True)],
            "Store.rows": lambda t=text: list(kg_store.rows(t)),
            "Store.query": lambda t=text: list(kg_store.query(t)),
            "pyoxigraph JSON": lambda t=text: worker_handle.query(t, use_default_graph_as_union=True).serialize(
                format=json_format),
            "endpoint": lambda t=text: endpoint(t),
        }, args.repeat, args.budget, rng)
        figures = {engine_name: p50_p95(runs) for engine_name, runs in times.items()}
        if rdflib_dataset is not None:
            runs = interleaved({"rdflib": lambda t=text: list(rdflib_dataset.query(t))}, args.rdflib_repeat, 0, rng)
            figures["rdflib"] = p50_p95(runs["rdflib"])
        rows = len(json.loads(endpoint(text))["results"]["bindings"])
        rows_table.append((name, rows, len(times["pyoxigraph"]), figures))
        json_table.append((name, rows, len(times["endpoint"]), figures))
        print(f"{name}: {len(times['pyoxigraph'])} runs", flush=True)
    kg_store.close()

    print("\nRows read into Python (p50 / p95 ms; ratio of p50 to pyoxigraph's)")
    columns = ["pyoxigraph", "Store.rows", "Store.query"] + (["rdflib"] if rdflib_dataset is not None else [])
    print_table(rows_table, columns, "pyoxigraph")
    print("\nSPARQL JSON results (p50 / p95 ms; ratio of p50 to pyoxigraph's)")
    print_table(json_table, ["pyoxigraph JSON", "endpoint"], "pyoxigraph JSON")


def print_table(lines: list[tuple[str, int, int, dict[str, tuple[float, float]]]], columns: list[str],
                baseline: str) -> None:
    """One line per query: rows, runs, then p50 / p95 of each column and its ratio to ``baseline``."""
    header = f"{'query':<20} {'rows':>5} {'runs':>5}"
    for column in columns:
        header += f" | {column:>19}" + ("" if column == baseline else f" {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for name, rows, runs, figures in lines:
        line = f"{name:<20} {rows:>5} {runs:>5}"
        base50 = figures[baseline][0]
        for column in columns:
            p50, p95 = figures[column]
            line += f" | {_ms(p50):>9} / {_ms(p95):>7}"
            if column != baseline:
                line += f" {p50 / base50:>5.2f}x"
        print(line)


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def _sample_entities(graphs: list[Graph]) -> tuple[str, str]:
    """A person who joined or holds a position somewhere, and that organisation, from the first article."""
    prefix = f"{DEFAULT_BASE}entity/"
    for graph in graphs:
        for s, p, o in graph:
            if str(p).endswith(("#joined", "#holds_position")):
                return str(s)[len(prefix):], str(o)[len(prefix):]
    raise ValueError("no membership fact generated")


def bench_http(path: str, person_names: list[str], args: argparse.Namespace) -> None:
    """Start `kg serve` on the store and load /sparql with bounded concurrency for a bounded time."""
    command = [sys.executable, "-m", "kg.cli", "serve", "--store", path, "--port", "0", "--workers", str(args.workers)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    url = None
    for line in server.stderr:
        found = re.search(r"listening on (http://[\d.]+:\d+/)", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        raise RuntimeError("kg serve did not start")
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()  # drain the query log
    host, port = urlsplit(url).hostname, urlsplit(url).port
    try:
        for label, make_query in (
            ("ASK {}", lambda rng: "ASK {}"),
            ("label lookup", lambda rng: queries(rng.choice(person_names), "")["label lookup"]),
        ):
            done, errors, latencies = load(host, port, make_query, args)
            print(f"/sparql {label:<13} {args.concurrency} clients, {args.seconds:g} s: "
                  f"{done / args.seconds:,.0f} req/s, p50 {statistics.median(latencies):.1f} ms, "
                  f"p95 {p50_p95(latencies)[1]:.1f} ms, {errors} errors", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(host: str, port: int, make_query: Callable[[random.Random], str],
         args: argparse.Namespace) -> tuple[int, int, list[float]]:
    """``args.concurrency`` keep-alive clients POSTing queries until ``args.seconds`` are up."""
    deadline = time.monotonic() + args.seconds
    counts = {"done": 0, "errors": 0}
    latencies: list[float] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while time.monotonic() < deadline:
            body = urlencode({"query": make_query(rng)})
            started = time.perf_counter()
            conn.request("POST", "/sparql", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Accept": "application/sparql-results+json"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                counts["done" if response.status == 200 else "errors"] += 1
                latencies.append(elapsed)
        conn.close()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["done"], counts["errors"], latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000, help="size of the generated graph")
    parser.add_argument("--repeat", type=int, default=20, help="least timed runs per query and path")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="more runs of a fast query, up to this many seconds per query and path")
    parser.add_argument("--rdflib-repeat", type=int, default=5, help="timed runs on rdflib (0: skip rdflib)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each HTTP load (0: skip it)")
    parser.add_argument("--workers", type=int, default=2, help="query workers of the server")
    args = parser.parse_args()

    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    started = time.perf_counter()
    graphs = generate(args.triples)
    print(f"generated {len(graphs):,} articles, {sum(len(g) for g in graphs):,} triples "
          f"in {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as folder:
        path = str(Path(folder) / "store")
        started = time.perf_counter()
        with open_store(path, DEFAULT_BASE) as store:
            store.replace_articles(graphs)
            triples = len(store)
        print(f"kg store: {triples:,} distinct triples loaded in {time.perf_counter() - started:.0f} s")
        gc.collect()
        gc.freeze()  # the generated graphs stay alive: keep the collector from walking them while timing
        bench_queries(path, graphs, args)
        if not args.seconds:
            return
        names = sorted({str(label) for g in graphs[:2000] for person in g.subjects(RDF.type, KG.Person)
                        for label in g.objects(person, RDFS.label)})
        bench_http(path, names, args)


if __name__ == "__main__":
    main()
