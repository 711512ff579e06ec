"""Score extracted facts against gold annotations (the contract of ../shared/eval/SPEC.md §4).

Facts match on doc, predicate, subject and object (any ``|`` alternative, after
normalisation; ``merged_with`` in either order); each gold fact matches once;
optional gold facts are neither rewarded nor punished. Entities, role and date
accuracy are scored the same way as the reference scorer.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kg.model import Extraction

QUOTES = "“”\"'‘’「」『』《》〈〉"
SYMMETRIC = frozenset({"merged_with"})


def contract_rows(extraction: Extraction, min_confidence: float = 0.0) -> Iterator[dict]:
    """The extraction as rows of the evaluation contract: facts, then one ``entity`` row each."""
    for fact in extraction.facts:
        if fact.confidence >= min_confidence:
            yield fact.to_json()
    for entity in extraction.entities:
        yield {"doc": extraction.article.id, "entity": entity.name, "type": entity.type}


def norm(text: object) -> str:
    """NFKC, no whitespace, no quotes, Latin lower-cased."""
    folded = unicodedata.normalize("NFKC", str(text or ""))
    return "".join(ch for ch in folded if not ch.isspace() and ch not in QUOTES).lower()


def alternatives(value: object) -> set[str]:
    """The normalised ``|``-separated alternatives of a gold value."""
    return {norm(v) for v in str(value or "").split("|") if norm(v)}


@dataclass
class Counts:
    """True positives, false positives and misses, with their derived scores."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    """The outcome of one evaluation."""

    facts: Counts = field(default_factory=Counts)
    per_predicate: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    entities: Counts = field(default_factory=Counts)
    role: tuple[int, int] = (0, 0)  # hits, total
    date: tuple[int, int] = (0, 0)
    false_positives: list[tuple[str, ...]] = field(default_factory=list)
    misses: list[tuple[str, ...]] = field(default_factory=list)


def _role_ok(gold_role: object, pred_role: object) -> bool:
    got = norm(pred_role)
    return bool(got) and any(got == w or got in w or w in got for w in alternatives(gold_role))


def evaluate(gold_rows: Iterable[dict], pred_rows: Iterable[dict], docs: set[str] | None = None) -> Report:
    """Compare predicted rows (the ``kg extract`` JSONL) with gold rows."""
    gold_facts, gold_entities = [], []
    for row in gold_rows:
        if docs and row.get("doc") not in docs:
            continue
        if "entity" in row:
            gold_entities.append((row["doc"], alternatives(row["entity"]), set(str(row.get("type", "")).split("|")),
                                  bool(row.get("optional"))))
        else:
            gold_facts.append(row | {"_s": alternatives(row["s"]), "_o": alternatives(row["o"])})
    pred_facts: dict[tuple[str, str, str, str], dict] = {}
    pred_entities: dict[tuple[str, str], str | None] = {}
    for row in pred_rows:
        doc = row.get("doc")
        if docs and doc not in docs:
            continue
        if "entity" in row:
            pred_entities.setdefault((doc, norm(row["entity"])), row.get("type"))
            continue
        if not row.get("predicate"):
            continue
        pred_facts.setdefault((doc, row["predicate"], norm(row.get("subject")), norm(row.get("object"))), row)
        for name, kind in ((row.get("subject"), row.get("subject_type")), (row.get("object"), row.get("object_type"))):
            if name:
                pred_entities.setdefault((doc, norm(name)), kind)

    report = Report()
    used: set[int] = set()
    role_hits = role_total = date_hits = date_total = 0
    for key, row in pred_facts.items():
        doc, pred, s, o = key
        match = next((i for i, g in enumerate(gold_facts) if i not in used and g["doc"] == doc and g["p"] == pred
                      and ((s in g["_s"] and o in g["_o"]) or (pred in SYMMETRIC and o in g["_s"] and s in g["_o"]))),
                     None)
        if match is None:
            report.per_predicate[pred].fp += 1
            report.false_positives.append(key)
            continue
        used.add(match)
        gold = gold_facts[match]
        if gold.get("optional"):
            continue
        report.per_predicate[pred].tp += 1
        if gold.get("role"):
            role_total += 1
            role_hits += _role_ok(gold["role"], row.get("role"))
        if gold.get("date"):
            date_total += 1
            date_hits += str(row.get("date") or "") == str(gold["date"])
    for i, gold in enumerate(gold_facts):
        if i not in used and not gold.get("optional"):
            report.per_predicate[gold["p"]].fn += 1
            report.misses.append((gold["doc"], gold["p"], gold["s"], gold["o"]))
    for counts in report.per_predicate.values():
        report.facts.tp += counts.tp
        report.facts.fp += counts.fp
        report.facts.fn += counts.fn
    report.role, report.date = (role_hits, role_total), (date_hits, date_total)

    ent_used: set[int] = set()
    for (doc, name), kind in pred_entities.items():
        match = next((i for i, (gdoc, names, _, _) in enumerate(gold_entities)
                      if i not in ent_used and gdoc == doc and name in names), None)
        if match is None:
            report.entities.fp += 1
            continue
        ent_used.add(match)
        _, _, types, optional = gold_entities[match]
        if optional:
            continue
        if kind in types:
            report.entities.tp += 1
        else:
            report.entities.fp += 1
    report.entities.fn = sum(1 for i, g in enumerate(gold_entities) if i not in ent_used and not g[3])
    return report


def format_report(report: Report, show_errors: bool = True) -> str:
    """The report as the reference scorer prints it, plus misses and false positives."""
    lines = [f"{'predicate':16} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    rows = sorted(report.per_predicate.items()) + [("entities", report.entities)]
    for name, c in rows:
        lines.append(f"{name:16} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f} {c.tp:4} {c.fp:4} {c.fn:4}")

    def ratio(pair: tuple[int, int]) -> str:
        return f"{pair[0] / pair[1]:.3f}" if pair[1] else "n/a"

    lines.append(f"role accuracy {ratio(report.role)}  date accuracy {ratio(report.date)}")
    if show_errors:
        lines += ["FP\t" + "\t".join(key) for key in report.false_positives]
        lines += ["FN\t" + "\t".join(map(str, key)) for key in report.misses]
    f = report.facts
    lines.append(f"facts P {f.precision:.3f} R {f.recall:.3f} F1 {f.f1:.3f} (tp {f.tp} fp {f.fp} fn {f.fn})")
    return "\n".join(lines)
