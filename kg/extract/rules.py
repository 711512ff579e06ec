"""Relation rules: declarative patterns over a sentence's mention skeleton.

A sentence is rewritten as a *skeleton*: each mention becomes one placeholder
character (person, organisation, product, role, date, reference) and the
words between mentions stay as they are. Rules in ``data/rules.yaml`` are
regular expressions over that skeleton written with readable macros:

``<s:PER>``  subject slot of a type (PER, ORG, PRD, ORGPRD, ENT); a slot takes a
             list too (A、B和C) and yields one fact per item
``<o:ORG>``  object slot; ``<o:ORG+ROLE>`` pairs each item with the title after it
``<role>``   a job title (titles in a row, 创始人、CEO, make one), ``<date>`` a date, ``<any>`` any mention
``<former>`` 前 or 原 of a former title (not the end of 目前, 日前 …); one character wide, so
             ``(?<!<former>)`` works too
``…``        a short gap (at most 10 characters, no mention but dates, no clause break)
``~``        a very short gap (at most 3 characters)

``implicit_object: true`` marks a rule without an object slot whose object is
the organisation the text is talking about (…将继续担任董事长 → the company).

A rule whose pattern starts with the subject slot also matches at the start of
a clause with no subject (",并向吴嘉汇报"): the subject is then carried over
from the sentence or the article (the person or organisation being talked about).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from kg.extract.mentions import DATE, OREF, ORG, PER, PRD, PREF, ROLE, Mention

RULES_FILE = Path(__file__).resolve().parent / "data" / "rules.yaml"

CODE = {PER: "\ue001", PREF: "\ue002", ORG: "\ue003", OREF: "\ue004", PRD: "\ue005", ROLE: "\ue006",
        DATE: "\ue007"}
TYPE_OF_CODE = {v: k for k, v in CODE.items()}
SLOT_CLASSES = {
    "PER": CODE[PER] + CODE[PREF],
    "ORG": CODE[ORG] + CODE[OREF],
    "PRD": CODE[PRD],
    "ORGPRD": CODE[ORG] + CODE[OREF] + CODE[PRD],
    "ENT": CODE[PER] + CODE[PREF] + CODE[ORG] + CODE[OREF] + CODE[PRD],
}
_MENTION_CLASS = "\ue001-\ue007"
_LIST_SEP = "(?:、|和|及|以及|及其)"
_ROLE_LIST_SEP = "(?:、|和|及|以及|及其|与|兼任|兼)"
_PERSON_LIST_SEP = "(?:、|和|及|以及|与)"  # 张三与李四共同创立…: people (and founders) are listed with 与 too
_NO_DATE_CLASS = "\ue001-\ue006"
_GAP = rf"[^{_NO_DATE_CLASS},;:。!?]{{0,10}}?"
_SHORT_GAP = rf"[^{_NO_DATE_CLASS},;:。!?]{{0,3}}?"
_ROLE_GAP = rf"[^{_MENTION_CLASS},;:。!?、]{{0,6}}?"
_CLAUSE_START = r"(?:^|(?<=[,;:]))"
_MACRO = re.compile(r"<(s|o|role|date|any|former)(?::([A-Z]+)(\+ROLE)?)?>|…|~")
# 前 or 原 marking a former title, not the end of 目前, 日前, 此前, 之前, 以前, 提前 (one character wide,
# so that it also works inside a lookbehind).
_FORMER = "(?<![日目此之以提])[前原]"

# Subject and object types each relation allows (../shared/eval/SPEC.md §2).
SIGNATURES = {
    "joined": ({PER}, {ORG}), "holds_position": ({PER}, {ORG}), "left": ({PER}, {ORG}),
    "formerly_at": ({PER}, {ORG}), "reports_to": ({PER}, {PER}), "succeeded": ({PER}, {PER}),
    "manages": ({PER}, {ORG, PRD}), "founded": ({PER, ORG}, {ORG, PRD}), "belongs_to": ({PRD}, {ORG, PRD}),
    "subunit_of": ({ORG}, {ORG}), "merged_into": ({ORG, PRD}, {ORG}), "merged_with": ({ORG}, {ORG}),
    "spun_off_from": ({ORG, PRD}, {ORG}), "acquired": ({ORG}, {ORG, PRD}), "invested_in": ({PER, ORG}, {ORG}),
}


@dataclass(frozen=True)
class Example:
    """An example sentence of a rule and the facts (``subject predicate object``) it must yield."""

    text: str
    facts: tuple[str, ...]
    date: str | None = None  # the article date the example is read against


@dataclass(eq=False)
class Rule:
    """One declarative rule (see the module docstring for the pattern language)."""

    id: str
    relation: str
    pattern: str
    confidence: float
    examples: list[Example] = field(default_factory=list)
    pairwise: bool = False  # a list in the subject slot relates its items to each other (A与B合并)
    # no object slot: the organisation being talked about (担任董事长): the closest one named before in
    # the sentence (True), or the first ("first"), else the article's
    implicit_object: bool | str = False
    swap: bool = False  # the pattern names the object first
    regex: re.Pattern[str] = field(init=False, repr=False)
    trigger: tuple[str, ...] = field(init=False, repr=False, default=())
    zero_subject: bool = field(init=False, default=False)
    paired: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        self.regex, self.zero_subject, self.paired = compile_pattern(self.pattern)
        self.trigger = _trigger(self.pattern)



_WORD_GROUP = re.compile(r"\(\?:((?:[\u4e00-\u9fff]+\|)*[\u4e00-\u9fff]+)\)(?![?*{])")


def _trigger(pattern: str) -> tuple[str, ...]:
    """The rule's first required group of plain Chinese words (its verb), as a quick pre-check."""
    outside_lookaround = re.sub(r"\(\?<?[=!][^()]*\)", "", pattern)
    group = _WORD_GROUP.search(outside_lookaround)
    return tuple(group.group(1).split("|")) if group else ()


def compile_pattern(pattern: str) -> tuple[re.Pattern[str], bool, frozenset[str]]:
    """Expand the macros of a rule pattern into a regular expression over skeletons."""
    paired: set[str] = set()
    named: set[str] = set()
    out: list[str] = []
    pos = 0
    for match in _MACRO.finditer(pattern):
        out.append(pattern[pos:match.start()])
        pos = match.end()
        token, kind, with_role = match.group(), match.group(2), match.group(3)
        if token == "…":
            out.append(_GAP)
        elif token == "~":
            out.append(_SHORT_GAP)
        elif match.group(1) in ("role", "date"):
            code = CODE[ROLE if match.group(1) == "role" else DATE]
            if match.group(1) == "role":  # 创始人、CEO: titles in a row are one role
                code = f"{code}(?:(?:、|和|及|与|兼){code})*"
            out.append(f"(?:{code})" if match.group(1) in named else f"(?P<{match.group(1)}>{code})")
            named.add(match.group(1))
        elif match.group(1) == "any":
            out.append(f"[{_MENTION_CLASS}]")
        elif match.group(1) == "former":
            out.append(_FORMER)
        else:
            item = f"[{SLOT_CLASSES[kind]}]"
            if with_role:  # 中国农业发展银行江西省分行行长, 百度凤巢系统的架构师: words may sit between
                item += f"(?:{_ROLE_GAP}{CODE[ROLE]})?"
                paired.add(match.group(1))
            sep = _ROLE_LIST_SEP if with_role else _PERSON_LIST_SEP if kind in ("PER", "ENT") else _LIST_SEP
            out.append(f"(?P<{match.group(1)}>{item}(?:{sep}{item})*)")
    out.append(pattern[pos:])
    body = "".join(out)
    zero = pattern.startswith("<s:")
    if zero:
        subject = body[:body.index(")*)") + 3]
        body = f"(?:{subject}|{_CLAUSE_START}){body[len(subject):]}"
    return re.compile(body), zero, frozenset(paired)


def runnable(rules: tuple[Rule, ...], skeleton_text: str) -> list[Rule]:
    """The rules whose trigger words (their verbs) occur in the skeleton: one scan for all rules."""
    index = _trigger_index(rules)
    chosen = set(index.always)
    for match in index.words.finditer(skeleton_text):
        chosen.update(index.rules_of[match.group(1)])
    return [rules[i] for i in sorted(chosen)]


@dataclass(frozen=True)
class _TriggerIndex:
    words: re.Pattern[str]  # every trigger word, longest first, at every offset
    rules_of: dict[str, frozenset[int]]  # a word → the rules it triggers (with the words inside it: 曾任 → 任)
    always: frozenset[int]  # rules without trigger words


@cache
def _trigger_index(rules: tuple[Rule, ...]) -> _TriggerIndex:
    words = sorted({w for rule in rules for w in rule.trigger}, key=len, reverse=True)
    rules_of = {w: frozenset(i for i, rule in enumerate(rules) if any(v in w for v in rule.trigger)) for w in words}
    always = frozenset(i for i, rule in enumerate(rules) if not rule.trigger)
    # a lookahead finds the longest word at every offset, so overlapping words (出任|任职) are all seen
    return _TriggerIndex(re.compile("(?=(" + ("|".join(map(re.escape, words)) or "(?!)") + "))"), rules_of, always)


@cache
def load_rules(path: Path = RULES_FILE) -> tuple[Rule, ...]:
    """Read and compile the rules file (cached)."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = []
    for row in rows:
        examples = [Example(e["text"], tuple(e.get("facts", ())), e.get("date"))
                    for e in row.get("examples", [])]
        rules.append(Rule(id=row["id"], relation=row["relation"], pattern=row["pattern"],
                          confidence=float(row.get("confidence", 0.8)), examples=examples,
                          pairwise=bool(row.get("pairwise")), swap=bool(row.get("swap")),
                          implicit_object=row.get("implicit_object", False)))
    return tuple(rules)


def skeleton(text: str, start: int, end: int, mentions: list[Mention]) -> tuple[str, list[Mention | None]]:
    """The sentence with each mention replaced by its placeholder; index → mention."""
    chars: list[str] = []
    owners: list[Mention | None] = []
    pos = start
    for m in mentions:
        gap = "".join(text[pos:m.start].split())
        chars.append(gap)
        owners.extend([None] * len(gap))
        chars.append(CODE[m.type])
        owners.append(m)
        pos = m.end
    tail = "".join(text[pos:end].split())
    chars.append(tail)
    owners.extend([None] * len(tail))
    return "".join(chars), owners


def role_span(owners: list[Mention | None], span: tuple[int, int], text: str) -> Mention | None:
    """The title (or run of titles) in a matched span, as one mention worded as in the text."""
    titles = [m for m in owners[span[0]:span[1]] if m is not None and m.type == ROLE]
    if not titles:
        return None
    if len(titles) == 1:
        return titles[0]
    first, last = titles[0], titles[-1]
    worded = text[first.start:last.end]
    return Mention(first.start, last.end, ROLE, worded, first.key + worded[len(first.text):])


def slot_items(owners: list[Mention | None], span: tuple[int, int], with_role: bool
               ) -> list[tuple[Mention, Mention | None]]:
    """The entity mentions in a matched slot, each with the title right after it (if paired)."""
    items: list[tuple[Mention, Mention | None]] = []
    for i in range(*span):
        m = owners[i]
        if m is None:
            continue
        if m.type == ROLE:
            if with_role and items and items[-1][1] is None:
                items[-1] = (items[-1][0], m)
            continue
        items.append((m, None))
    if with_role:  # "A、B担任教授"-style lists share a trailing title
        last_role = items[-1][1] if items else None
        items = [(m, r or last_role) for m, r in items]
    return items
