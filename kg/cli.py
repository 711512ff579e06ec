"""The ``kg`` command: build a knowledge graph from news articles and work with the store.

Each subcommand is a function ``cmd_<name>(args) -> int`` registered, with the function that
declares its arguments, in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from rdflib import Literal, URIRef
from rdflib.query import Result
from rdflib.term import Node

from kg.articles import SUFFIXES, ArticleError, read_paths
from kg.build import BATCH_ARTICLES, build
from kg.evaluate import contract_rows, evaluate, format_report
from kg.extract import DEFAULT_MIN_CONFIDENCE
from kg.model import Article, Extraction
from kg.rdf import DEFAULT_BASE
from kg.store import DEFAULT_STORE, FORMATS, QueryError, Store, StoreError, open_store

Command = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


def main(argv: list[str] | None = None) -> int:
    """Run ``kg`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already reported by argparse
        return int(exit_.code or 0)
    try:
        return args.func(args)
    except StoreError as error:
        return _fail(f"cannot open store {error}")
    except BrokenPipeError:  # e.g. `kg export | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


def make_parser() -> argparse.ArgumentParser:
    """The argument parser: global options, then one subparser per entry of COMMANDS."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store", metavar="DIR", default=argparse.SUPPRESS,
        help=f"store directory, or 'memory' (default: $KG_STORE or {DEFAULT_STORE})",
    )
    common.add_argument(
        "--base", metavar="IRI", default=argparse.SUPPRESS,
        help=f"base of the entity/article/fact IRIs (default: $KG_BASE or {DEFAULT_BASE})",
    )
    parser = argparse.ArgumentParser(
        prog="kg", parents=[common], description="Knowledge graphs from Chinese tech and business news."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (func, arguments, summary) in COMMANDS.items():
        sub = commands.add_parser(name, parents=[common], help=summary, description=func.__doc__)
        arguments(sub)
        sub.set_defaults(func=func)
    return parser


# --- build and extract ---


def cmd_build(args: argparse.Namespace) -> int:
    """Extract facts from articles (files, or folders of .md/.txt/.jsonl files) and load them into
    the store, one named graph per article. Incremental: an unchanged article (same content hash,
    same file) is skipped, a changed one replaces its graph. Safe to interrupt at any point: the
    store keeps whole articles only, and the next build completes the rest."""
    with _open(args, create=True) as store, Progress(0, "articles") as progress:
        if store.recovered:  # dropped when the store was opened
            progress.message(f"kg: dropped {store.recovered} article graphs that an interrupted build was writing")
        report = build(args.paths, store, jobs=args.jobs, prune=args.prune, force=args.force, batch=args.batch,
                       progress=progress)
    print(
        f"built {report.articles} articles ({report.facts} facts, {report.entities} entities)"
        + (f", {report.unchanged} unchanged" if report.unchanged else "")
        + f", {report.skipped} skipped"
        + (f", {report.duplicates} duplicate ids" if report.duplicates else "")
        + (f", {report.failed} failed" if report.failed else "")
        + (f", {report.removed} removed" if args.prune else "")
        + f" in {report.seconds:.1f} s; {report.triples} triples written"
    )
    if args.timings:
        print("seconds: " + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in report.stages.items())
              + " (read, extract and rdf: summed over the workers)")
    if not (report.articles or report.unchanged or report.removed):
        return _fail("no article could be read")
    return 1 if report.failed else 0


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="article files or folders")
    parser.add_argument(
        "--jobs", "-j", type=_positive, default=os.cpu_count() or 1, metavar="N",
        help="extract in N worker processes (default: the number of CPUs, %(default)s here)",
    )
    parser.add_argument(
        "--prune", action="store_true",
        help="remove the articles of files under PATH that are gone (or no longer hold them)",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="rebuild unchanged articles too (after an update of the extractor)",
    )
    parser.add_argument(
        "--batch", type=_positive, default=BATCH_ARTICLES, metavar="N",
        help="write at most N articles at a time (default %(default)s; a build killed redoes the batch under way)",
    )
    parser.add_argument("--timings", action="store_true", help="print the seconds spent in each stage")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def cmd_extract(args: argparse.Namespace) -> int:
    """Print the facts and entities of articles as evaluation JSON Lines (SPEC.md §3)."""
    tally: Counter[str] = Counter()
    files = _input_files(args.paths)
    with Progress(len(files), "files") as progress:
        for article in _articles(files, tally, progress):
            extraction = _extract(article, tally, progress)
            if extraction is None:
                continue
            for row in contract_rows(extraction, args.min_confidence):
                print(json.dumps(row, ensure_ascii=False))
    if not tally["articles"]:
        return _fail("no article could be read")
    return 1 if tally["failed"] else 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Extract facts from articles and score them against gold annotations.

    Prints per-relation precision, recall and F1, entity and qualifier scores (as
    ../shared/eval/score.py does), then every false positive (FP) and miss (FN).
    """
    try:
        gold = [json.loads(line) for line in Path(args.gold).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as err:
        return _fail(f"cannot read gold file {args.gold}: {err}")
    tally: Counter[str] = Counter()
    files = [f for f in _input_files(args.paths) if f.resolve() != Path(args.gold).resolve()]
    predictions: list[dict] = []
    with Progress(len(files), "files") as progress:
        for article in _articles(files, tally, progress):
            extraction = _extract(article, tally, progress)
            if extraction is not None:
                predictions.extend(contract_rows(extraction, args.min_confidence))
    if not tally["articles"]:
        return _fail("no article could be read")
    docs = set(args.docs.split(",")) if args.docs else {row["doc"] for row in predictions} | {
        row["doc"] for row in gold if row.get("doc") in {p.stem for p in files}}
    print(format_report(evaluate(gold, predictions, docs), show_errors=not args.no_errors))
    return 1 if tally["failed"] else 0


def _eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gold", metavar="GOLD", help="gold annotations (JSON Lines, see SPEC.md)")
    _extract_arguments(parser)
    parser.add_argument("--docs", metavar="ID,ID", help="score only these article ids (default: the articles read)")
    parser.add_argument("--no-errors", action="store_true", help="do not list false positives and misses")


def _extract_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="article files or folders")
    parser.add_argument(
        "--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE, metavar="X",
        help=f"leave out facts with a confidence below X (default: {DEFAULT_MIN_CONFIDENCE}; hedged facts score lower)",
    )


def _input_files(paths: Iterable[str]) -> list[Path]:
    """The files ``read_paths`` reads, listed up front so that progress can show a total."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()))
        else:
            files.append(path)
    return files


def _articles(files: list[Path], tally: Counter[str], progress: Progress) -> Iterator[Article]:
    """The articles of ``files``; unreadable ones are reported on stderr and counted as skipped."""
    for file in files:
        for item in read_paths([file]):
            if isinstance(item, ArticleError):
                tally["skipped"] += 1
                progress.message(f"kg: skipped {item}")
            else:
                yield item
        progress.advance()


def _extract(article: Article, tally: Counter[str], progress: Progress) -> Extraction | None:
    """Extract one article, counting it; None (reported, counted as failed) if the extractor fails."""
    from kg.extract import extract  # deferred: loading the lexicon takes a moment

    try:
        extraction = extract(article)
    except Exception as error:  # an extractor bug must not stop a build of thousands of articles
        tally["failed"] += 1
        progress.message(f"kg: extraction failed for {article.path or article.id}: {error!r}")
        return None
    tally.update(articles=1, facts=len(extraction.facts), entities=len(extraction.entities))
    return extraction


class Progress:
    """A one-line progress bar on stderr (count/total, rate, ETA), shown only when stderr is a TTY."""

    WIDTH = 24
    INTERVAL = 0.1  # seconds between redraws

    def __init__(self, total: int, unit: str, stream: TextIO | None = None) -> None:
        self.total, self.unit = total, unit
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.done = 0
        self.started = self.drawn = time.monotonic()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self.drawn >= self.INTERVAL or self.done == self.total):
            self.drawn = now
            self._draw(now)

    def message(self, text: str) -> None:
        """Print ``text`` on its own line above the bar."""
        if self.enabled:
            self.stream.write("\r\x1b[K")
        print(text, file=self.stream)
        if self.enabled:
            self._draw(time.monotonic())

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        fraction = self.done / self.total if self.total else 1.0
        filled = round(fraction * self.WIDTH)
        eta = f"ETA {_clock((self.total - self.done) / rate)}" if rate and self.done < self.total else ""
        self.stream.write(
            f"\r\x1b[K[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} {self.unit}"
            f"  {rate:.1f}/s  {eta}"
        )
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


# --- query and export ---


def cmd_query(args: argparse.Namespace) -> int:
    """Run a SPARQL query whose default graph is the union of all article graphs.

    The prefixes kg:, ent:, art:, fact:, org:, prov:, dcterms:, skos:, schema:, rdf:, rdfs: and xsd:
    are predefined. In an Oxigraph store a triple that several articles state matches once per
    article: use SELECT DISTINCT to count things.
    """
    sparql = args.sparql
    if sparql.startswith("@"):
        try:
            sparql = Path(sparql[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            return _fail(f"cannot read query file {sparql[1:]}: {error}")
    with _open(args) as store:
        try:
            result = store.query(sparql)
        except QueryError as error:
            return _fail(f"bad SPARQL: {error}", status=2)
        _print_result(result, args.format, store)
    return 0


def _query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sparql", metavar="SPARQL", help="the query, or @FILE to read it from a file")
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table",
        help="SELECT/ASK output: aligned table (default), SPARQL JSON results or CSV; "
        "CONSTRUCT and DESCRIBE always print Turtle",
    )


def _print_result(result: Result, fmt: str, store: Store) -> None:
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        graph = result.graph
        for prefix, ns in store.prefixes.items():
            graph.bind(prefix, ns, override=True, replace=True)
        _write_bytes(graph.serialize(format="turtle", encoding="utf-8"))
    elif fmt in ("json", "csv") and not (result.type == "ASK" and fmt == "csv"):
        _write_bytes(result.serialize(format=fmt))
    elif result.type == "ASK":
        print("true" if result.askAnswer else "false")
    else:
        names = [str(v) for v in result.vars or ()]
        rows = [[_cell(term, store.prefixes) for term in row] for row in result]
        for line in _table(names, rows):
            print(line)
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def _cell(term: Node | None, prefixes: dict[str, str]) -> str:
    """A term for the table: prefixed name if possible, literal's lexical form, one line."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        text = _shorten(term, prefixes)
    elif isinstance(term, Literal):
        text = str(term)
    else:
        text = term.n3()
    return " ".join(text.splitlines())


def _shorten(iri: str, prefixes: dict[str, str]) -> str:
    """``ent:许主洪`` for an IRI in a known namespace (the longest that matches), else ``<iri>``."""
    matches = [(ns, p) for p, ns in prefixes.items() if iri.startswith(ns) and len(iri) > len(ns)]
    if not matches:
        return f"<{iri}>"
    ns, prefix = max(matches, key=lambda m: len(m[0]))
    return f"{prefix}:{iri[len(ns):]}"


def _width(text: str) -> int:
    """Display width in a terminal: wide and full-width (CJK) characters take two columns."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _table(names: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces, a dashed line under the header."""
    widths = [max([_width(n), *(_width(r[i]) for r in rows)]) for i, n in enumerate(names)]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(names), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def cmd_export(args: argparse.Namespace) -> int:
    """Write the store (or one article's graph) as RDF, streamed to stdout or a file."""
    with _open(args) as store:
        if args.graph is not None and not store.has_article(args.graph):
            return _fail(f"no article {args.graph} in the store")
        if args.output:
            with open(args.output, "wb") as out:
                store.export(args.format, out, args.graph)
        else:
            sys.stdout.flush()
            store.export(args.format, sys.stdout.buffer, args.graph)
            sys.stdout.buffer.flush()
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=tuple(FORMATS), default="turtle",
        help="turtle and nt give the union of the article graphs; nq, trig and json-ld keep the "
        "named graphs (default: turtle)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--graph", metavar="ID", help="export only the graph of article ID")


# --- maintenance ---


def cmd_validate(args: argparse.Namespace) -> int:
    """Check the union of the article graphs against the SHACL shapes (ontology/shapes.ttl)."""
    from kg.validate import validate  # deferred: pyshacl is slow to import

    with _open(args) as store:
        graph = store.union_graph()
    violations = validate(graph)
    for violation in violations:
        print(violation)
    if violations:
        return _fail(f"{len(violations)} violation{'s' if len(violations) != 1 else ''}")
    print(f"valid: {len(graph)} triples")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Count articles, facts, triples, entities by type and facts by relation."""
    with _open(args) as store:
        stats = store.stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    rows = [(key, stats[key]) for key in ("articles", "facts", "triples")]
    rows += [(f"entities {t}", n) for t, n in stats["entities"].items()]
    rows += [(f"relation {r}", n) for r, n in stats["relations"].items() if n]
    label_width = max(len(label) for label, _ in rows)
    number_width = max(len(str(n)) for _, n in rows)
    for label, n in rows:
        print(f"{label:<{label_width}}  {n:>{number_width}}")
    return 0


def _stats_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove articles (their named graphs) from the store."""
    status = 0
    with _open(args) as store:
        for article_id in args.ids:
            if store.remove_article(article_id):
                print(f"removed {article_id}")
            else:
                status = _fail(f"no article {article_id} in the store")
    return status


def _remove_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="+", metavar="ID", help="article id (the file name without extension)")


# --- server ---


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the SPARQL endpoint (/sparql), the query page (/query), the dump (/dump) and the graph
    browser with waitress, a production WSGI server, logging each query with its duration.

    Queries run in worker processes and are stopped after --query-timeout seconds. The endpoint is
    read-only unless --update-token (or $KG_UPDATE_TOKEN) is set: SPARQL Update then needs
    'Authorization: Bearer <token>'. While it runs, the server holds the store: stop it to build.
    """
    import logging
    import signal

    from waitress.server import create_server

    from server import create_app  # deferred: Flask and the query workers serve this command only

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(
        store_spec=getattr(args, "store", None), base=getattr(args, "base", None),
        query_timeout=args.query_timeout, max_rows=args.max_rows, max_body=args.max_body,
        update_token=args.update_token or os.environ.get("KG_UPDATE_TOKEN"), workers=args.workers,
    )
    service = app.extensions["kg"]
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # stop as cleanly as on Ctrl-C
    try:
        server = create_server(
            app, host=args.host, port=args.port, threads=args.workers + 4,
            max_request_body_size=args.max_body, ident="kg",
        )
        url = f"http://{server.effective_host}:{server.effective_port}/"
        logging.getLogger("kg.server").info(
            "listening on %s (SPARQL endpoint %ssparql, query page %squery); %d query workers, "
            "%g s per query, %d rows per answer, updates %s",
            url, url, url, args.workers, args.query_timeout, args.max_rows,
            "with a token" if service.update_token else "refused",
        )
        server.run()
    finally:
        service.close()
    return 0


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=5000, help="port, 0 for any free one (default: %(default)s)")
    parser.add_argument(
        "--query-timeout", type=_seconds, default=10.0, metavar="S",
        help="stop a query after S seconds and answer 503 (default: %(default)g)",
    )
    parser.add_argument(
        "--max-rows", type=_positive, default=10_000, metavar="N",
        help="answer at most N rows (or triples), saying so when capped (default: %(default)s)",
    )
    parser.add_argument(
        "--max-body", type=_positive, default=1 << 20, metavar="BYTES",
        help="refuse request bodies larger than BYTES with 413 (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=_positive, default=2, metavar="N",
        help="query worker processes (default: %(default)s)",
    )
    parser.add_argument(
        "--update-token", metavar="T",
        help="accept SPARQL Update with 'Authorization: Bearer T' (default: $KG_UPDATE_TOKEN; none: read-only)",
    )


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


# --- helpers ---


def _open(args: argparse.Namespace, *, create: bool = False) -> Store:
    """The store of ``--store``/``--base``; only ``build`` may create it."""
    return open_store(getattr(args, "store", None), getattr(args, "base", None), create=create)


def _write_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
    sys.stdout.buffer.flush()


def _fail(message: str, status: int = 1) -> int:
    print(f"kg: error: {message}", file=sys.stderr)
    return status


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """For subcommands that take only the global options."""


# name → (command, argument declarations, one-line summary)
COMMANDS: dict[str, tuple[Command, Arguments, str]] = {
    "build": (cmd_build, _build_arguments, "extract facts from articles and load them into the store"),
    "extract": (cmd_extract, _extract_arguments, "print extracted facts and entities as JSON Lines"),
    "eval": (cmd_eval, _eval_arguments, "score extraction against gold annotations"),
    "query": (cmd_query, _query_arguments, "run a SPARQL query on the store"),
    "export": (cmd_export, _export_arguments, "write the store as RDF"),
    "validate": (cmd_validate, _no_arguments, "check the store against the SHACL shapes"),
    "stats": (cmd_stats, _stats_arguments, "count articles, facts, entities and relations"),
    "remove": (cmd_remove, _remove_arguments, "remove articles from the store"),
    "serve": (cmd_serve, _serve_arguments, "serve the SPARQL endpoint, query page and graph browser"),
}


if __name__ == "__main__":
    sys.exit(main())
