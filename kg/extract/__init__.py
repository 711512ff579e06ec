"""Extraction: article text → typed facts with qualifiers and provenance.

The pipeline (one module a stage): ``sentences`` splits the analysed text,
``mentions`` finds people, organisations, products, titles, dates and
references, ``rules`` matches the declarative relation patterns over each
sentence's mention skeleton, ``resolve`` names each entity once per article.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from kg.extract.cues import UNIT_SUFFIXES
from kg.extract.lexicon import Lexicon, load
from kg.extract.mentions import (
    KIND_OF_TYPE,
    OREF,
    ORG,
    PER,
    PRD,
    PREF,
    ROLE,
    Mention,
    Names,
    article_dates,
    discover,
    tag,
)
from kg.extract.resolve import resolve_entities
from kg.extract.rules import CODE, SIGNATURES, Rule, load_rules, role_span, runnable, skeleton, slot_items
from kg.extract.sentences import Sentence, split_sentences
from kg.model import Article, Extraction, Fact

__all__ = ["DEFAULT_MIN_CONFIDENCE", "extract"]

# Facts below this confidence (hedged ones: 传, 拟, 或将 halve a rule's confidence) are left out of
# `kg extract` unless asked for.
DEFAULT_MIN_CONFIDENCE = 0.5

DENIAL = re.compile(r"否认|不实|辟谣|并未|没有(?:加入|离职|收购|投资)|谣言")
HEDGE = re.compile(r"(?:^|[,;:])(?:据|有消息|市场|外界|业内)?传(?![媒统播输感承奇说])|传闻|据传|传出|拟|"
                   r"或将|或于|计划|有望|可能|考虑|洽谈|谈判|意向|据悉将|或许|预计将|邀请|试图|希望|猜测")
ROLE_RELATIONS = frozenset({"joined", "holds_position", "left", "formerly_at", "succeeded"})
UNDATED = frozenset({"formerly_at"})
DATE_CARRY = 2  # sentences a date carries over to
DATED_CHANGES = frozenset({"joined", "holds_position", "left", "reports_to", "succeeded"})  # people's moves
HEDGE_FACTOR = 0.5
NESTED_RULE = "subunit.nested-name"
FOUNDER = re.compile("创始人|创办人|缔造者")
FORMER = ("前", "原")  # 前CEO, 原总裁, 前任董事长: a title held before
PAST = re.compile("曾|此前|之前|早年|历任|先后任|昔日|过去|早前|前任")
PLACEHOLDERS = frozenset("\ue001\ue002\ue003\ue004\ue005\ue006\ue007")
ZERO_PREFIX = re.compile("(?:\ue007|将|已|也|还|并|随后|同时|则|亦|又|曾|正式|目前|此前|近日|日前|今年|去年|继续|即将|"
                         "已经|再次|仍|于|由|而|后|之后|此后|其后|因此|从而|进一步|宣布|并且|先后|曾经|主要|全面|亲自|"
                         "正在|将于)*")
MODIFIER_AFTER = re.compile(r"(?:\([^()]*\))?(?:旗下|下属|的)")  # 腾讯云(CSIG)旗下的腾讯会议团队: not the subject
# An organisation followed by a title and a person describes the person (人人网产品经理程一笑): the
# person, not it, is what the clause is about.
TITLED_PERSON_AFTER = re.compile(f"{CODE[ROLE]}+[{CODE[PER]}{CODE[PREF]}]")
ACTING_RELATIONS = frozenset({"acquired", "invested_in", "founded"})


@dataclass
class _Context:
    """What the article has been talking about, for references and subject-less clauses."""

    last: dict[str, Mention] = field(default_factory=dict)  # type → most recent mention
    subject: dict[str, Mention] = field(default_factory=dict)  # type → most recent fact subject
    topic: Mention | None = None  # first person of the latest sentence that names one
    main: Mention | None = None  # the company the article is about (bare 公司/集团 point here)
    last_date: tuple[int, str] | None = None  # (sentence number, ISO date) of the latest dated sentence
    sentences: int = 0  # sentences read so far


def extract(article: Article, lexicon: Lexicon | None = None,
            rules: tuple[Rule, ...] | None = None) -> Extraction:
    """Extract the facts and entities one article states."""
    lex = lexicon or load()
    rules = rules if rules is not None else load_rules()
    text = article.text
    names = discover(text, lex)
    dates = article_dates(text, article.date)
    tagged = [(sentence, tag(text, sentence.start, sentence.end, names, lex, dates))
              for sentence in split_sentences(text)]
    context = _Context(main=_main_organization(tagged, article.title, names))
    facts: list[Fact] = []
    mentions: list[Mention] = []
    for sentence, found in tagged:
        _resolve_references(found, context)
        mentions.extend(m for m in found if m.type in (PER, ORG, PRD))
        stated = _apply_rules(article, sentence, found, rules, context)
        _carry_dates(stated, found, context)
        facts.extend(stated)
        facts.extend(_nested_units(article, sentence, found))
        for m in found:
            if m.type in (PER, ORG, PRD):
                context.last[m.type] = m
        context.topic = next((m for m in found if _entity_type(m) == PER), context.topic)
    entities, display = resolve_entities(mentions)
    canonical = {key: next(e.id for e in entities if e.name == name) for key, name in display.items()}
    return Extraction(article, _finish(facts, display, canonical), entities)


def _main_organization(tagged: list[tuple[Sentence, list[Mention]]], title: str, names: Names) -> Mention | None:
    """The company the article is about: the most mentioned organisation that is not a unit.

    Mentions in the title count double; ties go to the earliest mention.
    """
    counts: Counter[str] = Counter()
    first: dict[str, Mention] = {}
    for i in range(len(title)):
        surface = names.gazetteer.match(title, i)
        kind, key = names.gazetteer.names[surface] if surface else (None, "")
        if kind == "Organization" and not key.endswith(UNIT_SUFFIXES):
            counts[key] += 1
    for _, found in tagged:
        for m in found:
            if m.type == ORG and not m.key.endswith(UNIT_SUFFIXES) and not m.credit:
                counts[m.key] += 1
                first.setdefault(m.key, m)
    ranked = sorted((k for k in counts if k in first), key=lambda k: (-counts[k], first[k].start))
    return first[ranked[0]] if ranked else None


def _carry_dates(facts: list[Fact], found: list[Mention], context: _Context) -> None:
    """A move stated without a date happened when the last dated sentence about moves, at most two
    sentences back, says (4月30日消息,…宣布… 同期,…将担任…)."""
    context.sentences += 1
    dates = [m.key for m in found if m.type == "DATE"]
    if dates:  # only a sentence about people's moves dates the ones after it
        moves = any(fact.predicate in DATED_CHANGES for fact in facts)
        context.last_date = (context.sentences, dates[-1]) if moves else None
    elif context.last_date and context.sentences - context.last_date[0] <= DATE_CARRY:
        for fact in facts:
            if fact.date is None and fact.predicate in DATED_CHANGES:
                fact.date = context.last_date[1]


def _resolve_references(found: list[Mention], context: _Context) -> None:
    """Point 他/她, 该公司/公司 and 后者 at their antecedents.

    他/她: the first person named earlier in the sentence, else the first person
    of the latest sentence that names one; 该公司/公司: the latest organisation;
    后者: the latest entity of any kind.
    """
    last = dict(context.last)
    first_person: Mention | None = None
    for m in found:
        if m.type in (PER, ORG, PRD):
            last[m.type] = m
            if m.type == PER and first_person is None:
                first_person = m
        elif m.type in (PREF, OREF):
            if m.type == PREF:
                antecedent = first_person or context.topic
            elif m.text == "后者":
                antecedent = max(last.values(), key=lambda x: x.start, default=None)
            elif m.text in ("公司", "集团"):  # the first company this sentence named, else the article's
                antecedent = next((x for x in found[:found.index(m)] if x.type == ORG and not x.credit
                                   and not x.key.endswith(UNIT_SUFFIXES)), None) or context.main or last.get(ORG)
            else:
                antecedent = last.get(ORG)
            if antecedent is not None:
                m.key, m.parent = antecedent.key, antecedent.type


def _apply_rules(article: Article, sentence: Sentence, found: list[Mention], rules: tuple[Rule, ...],
                 context: _Context) -> list[Fact]:
    if sum(m.type in (PER, PREF, ORG, OREF, PRD) for m in found) < 1:
        return []
    skel, owners = skeleton(article.text, sentence.start, sentence.end, found)
    if DENIAL.search(skel):
        return []
    hedged = bool(HEDGE.search(skel))
    evidence_start, evidence_end = article.body_span(sentence.start, sentence.end)
    evidence = article.body[evidence_start:evidence_end]
    out: list[tuple[Fact, Mention, Mention, int]] = []  # with the skeleton offset of the match
    claimed: list[tuple[int, int]] = []  # spans of this sentence's earlier matches: their dates are theirs
    for rule in runnable(rules, skel):
        for match in rule.regex.finditer(skel):
            subjects = _subjects(rule, match, owners, context, out)
            objects = _objects(rule, match, owners, found, context, out)
            pairs = _pairs(rule, subjects, objects)
            role_m = role_span(owners, match.span("role"), article.text) if "role" in rule.regex.groupindex else None
            date_m = owners[match.start("date")] if "date" in rule.regex.groupindex else None
            for (s, s_role), (o, o_role) in pairs:
                relation = rule.relation
                role = o_role or role_m or s_role or (_role_after(owners, match.end("o")) if relation in
                                                      ROLE_RELATIONS and "o" in rule.regex.groupindex
                                                      and match.group("o") else None)
                if role is not None and _person_after(owners, role, s):
                    continue  # 现任保时捷CEO奥利弗: the title belongs to the person named after it
                verb_end = match.start("o") if "o" in rule.regex.groupindex and match.group("o") else match.end()
                if relation == "holds_position" and (role is not None and role.text.startswith(FORMER)
                                                     or PAST.search(_clause_before(skel, verb_end))):
                    relation = "formerly_at"  # 前CEO, 原总裁, 此前曾任
                s_type, o_type = _entity_type(s), _entity_type(o)
                if s_type is None or o_type is None or s.key == o.key:
                    continue
                subject_types, object_types = SIGNATURES[relation]
                if o_type == PRD and ORG in object_types and role is not None:
                    o_type = ORG  # a title at a product (TikTok CEO) makes it an organisation
                if s_type == PRD and relation in ACTING_RELATIONS:
                    s_type = ORG  # a brand that acquires or invests is its company (Facebook收购…)
                if s_type not in subject_types or o_type not in object_types:
                    continue
                date = None if relation in UNDATED else (
                    date_m.key if date_m else _date_near(owners, match.start(), match.end(), claimed))
                fact = Fact(
                    doc=article.id, subject=s.key, subject_type=KIND_OF_TYPE[s_type], predicate=relation,
                    object=o.key, object_type=KIND_OF_TYPE[o_type], evidence=evidence,
                    start=evidence_start, end=evidence_end, rule=rule.id,
                    confidence=round(rule.confidence * (HEDGE_FACTOR if hedged else 1.0), 3),
                    role=role.key if role is not None and relation in ROLE_RELATIONS else None, date=date,
                )
                out.append((fact, s, o, match.start()))
                context.subject[s_type] = s
            if pairs:
                claimed.append(match.span())
    return [fact for fact, *_ in out]


def _clause_before(skel: str, end: int) -> str:
    """The skeleton from the start of the clause that contains ``end`` up to ``end``."""
    start = max(skel.rfind(ch, 0, end) for ch in ",;:") + 1
    return skel[start:end]


def _objects(rule: Rule, match: re.Match[str], owners: list[Mention | None], found: list[Mention],
             context: _Context, so_far: list) -> list[tuple[Mention, Mention | None]]:
    if "o" in rule.regex.groupindex and match.group("o") is not None:
        return slot_items(owners, match.span("o"), "o" in rule.paired)
    if not rule.implicit_object:  # an optional object slot left empty falls back to the implicit one
        return []
    inside = {id(m) for m in owners[match.start():match.end()] if m is not None}
    same = [o for fact, s, o, at in so_far
            if fact.predicate == rule.relation and (at < match.start() or id(s) in inside)]
    if same:  # …领投了Y的融资,Z跟投: the object of the same statement earlier in the sentence (or of
        return [(same[-1], None)]  # this one, when a rule found it: X领投了Y的融资)
    at = next((m.start for m in owners[match.start():] if m is not None), None)
    named = [m for m in found if m.type == ORG and not m.credit and (at is None or m.start < at)]
    if named:  # named earlier in the sentence: the closest (or the first, for rules that say so)
        company = named[0] if rule.implicit_object == "first" else named[-1]
    else:
        company = context.main or context.last.get(ORG)
    return [(company, None)] if company is not None else []


def _nested_units(article: Article, sentence: Sentence, found: list[Mention]
                  ) -> list[Fact]:
    """A unit named after its parent (北辰集团智能驾驶事业部) is a sub-unit of it."""
    start, end = article.body_span(sentence.start, sentence.end)
    return [Fact(doc=article.id, subject=m.key, subject_type="Organization", predicate="subunit_of",
                 object=m.parent, object_type="Organization", evidence=article.body[start:end],
                 start=start, end=end, rule=NESTED_RULE, confidence=0.7)
            for m in found if m.type == ORG and m.parent]


def _subjects(rule: Rule, match: re.Match[str], owners: list[Mention | None], context: _Context,
              so_far: list) -> list[tuple[Mention, Mention | None]]:
    if match.group("s") is not None and match.group("s") != "":
        return slot_items(owners, match.span("s"), "s" in rule.paired)
    if not rule.zero_subject or not _opens_clause(rule, match):
        return []
    wanted = SIGNATURES[rule.relation][1 if rule.swap else 0]
    start = match.start()
    quote = match.string.rfind("“", 0, start) + 1  # inside a quotation, look no further back than it
    for _fact, s, _, at in reversed(so_far):  # the subject of an earlier clause of this sentence
        if _entity_type(s) in wanted and quote <= at < start:
            return [(s, None)]
    clause_starts = [quote] + [i + 1 for i, ch in enumerate(match.string[quote:start], quote) if ch in ",;:"]
    for begin, end in zip(reversed(clause_starts), [start, *reversed(clause_starts[1:])], strict=False):
        fitting = [(i, m) for i, m in enumerate(owners[begin:end], begin)
                   if m is not None and _entity_type(m) in wanted and not m.credit
                   and not TITLED_PERSON_AFTER.match(match.string, i + 1)]
        heads = [m for i, m in fitting if not MODIFIER_AFTER.match(match.string, i + 1)]
        subject = (heads or [m for _, m in fitting] or [None])[0]
        if subject is not None:  # the first fitting entity of the closest clause before
            return [(subject, None)]
    if quote:
        return []
    for kind in (PER, ORG, PRD):
        if kind in wanted and context.subject.get(kind):
            return [(context.subject[kind], None)]
    return []


def _opens_clause(rule: Rule, match: re.Match[str]) -> bool:
    """Whether a subject-less match starts its clause with the verb (or 由, a date, an adverb): words
    before it may be a name the recogniser missed (万霖继续担任…), and then no subject is guessed."""
    text = match.group()
    stops = [i for i in (text.find(word) for word in rule.trigger) if i >= 0]
    stops += [i for i, ch in enumerate(text) if ch in PLACEHOLDERS][:1]
    return bool(ZERO_PREFIX.fullmatch(text[:min(stops, default=len(text))]))


def _pairs(rule: Rule, subjects: list, objects: list) -> list:
    if rule.pairwise:
        return [(a, b) for i, a in enumerate(subjects) for b in subjects[i + 1:]]
    if rule.swap:
        return [(o, s) for s in subjects for o in objects]
    return [(s, o) for s in subjects for o in objects]


def _entity_type(m: Mention) -> str | None:
    if m.type in (PER, ORG, PRD):
        return m.type
    if m.type in (PREF, OREF) and m.parent in (PER, ORG, PRD):
        return m.parent
    return None


def _role_after(owners: list[Mention | None], end: int) -> Mention | None:
    """A title right after the object (出任阿里集团副总裁), optionally after 的."""
    for i in (end, end + 1):
        if i < len(owners) and owners[i] is not None and owners[i].type == ROLE:
            return owners[i]
        if i < len(owners) and owners[i] is not None:
            return None
    return None


def _date_near(owners: list[Mention | None], start: int, end: int, claimed: list[tuple[int, int]]
               ) -> str | None:
    """A date inside the match (将在9月1日离职), else the closest one before it in the sentence
    that no other statement of the sentence has claimed (由X于2014年创立,其旗下产品…)."""
    for i in [*range(start, end), *range(start - 1, -1, -1)]:
        m = owners[i]
        if m is not None and m.type == "DATE" and (start <= i < end or not any(a <= i < b for a, b in claimed)):
            return m.key
    return None


def _person_after(owners: list[Mention | None], role: Mention, subject: Mention) -> bool:
    """Whether a person other than the subject directly follows the title."""
    at = next((i for i, m in enumerate(owners) if m is not None and m.type == ROLE and m.end == role.end), None)
    nxt = owners[at + 1] if at is not None and at + 1 < len(owners) else None
    return nxt is not None and _entity_type(nxt) == PER and nxt.key != subject.key


def _finish(found: list[Fact], display: dict[str, str], canonical: dict[str, str]
            ) -> list[Fact]:
    """Name entities as the article does, add implied facts, drop duplicates (the most confident wins)."""
    raw = []
    for fact in found:
        fact.subject_key, fact.object_key = canonical.get(fact.subject, fact.subject), canonical.get(
            fact.object, fact.object)
        fact.subject = display.get(fact.subject, fact.subject)
        fact.object = display.get(fact.object, fact.object)
        if fact.subject != fact.object:
            raw.append(fact)
    raw += [extra for fact in raw if fact.predicate != "joined" and (extra := _derived(fact))]
    best: dict[tuple[str, str, str], Fact] = {}
    for fact in raw:
        key = (fact.subject, fact.predicate, fact.object)
        old = best.get(key)
        if old is None:
            best[key] = fact
            continue
        if old.role and fact.role and FOUNDER.search(old.role) and not FOUNDER.search(fact.role):
            old.role = fact.role  # 联合创始人宿华 … 担任董事长: the position is the role
        winner, loser = (fact, old) if fact.confidence > old.confidence else (old, fact)
        winner.role, winner.date = winner.role or loser.role, winner.date or loser.date
        best[key] = winner
    for fact in list(best.values()):  # 加入X,出任X副总裁: the position's title and date qualify the joining
        twin = best.get((fact.subject, "holds_position", fact.object))
        if fact.predicate == "joined" and twin is not None and twin.start == fact.start:
            fact.role, fact.date = fact.role or twin.role, fact.date or twin.date
        if fact.predicate == "joined" and (extra := _derived(fact)):
            best.setdefault((extra.subject, extra.predicate, extra.object), extra)
    return list(best.values())


def _derived(fact: Fact) -> Fact | None:
    """What a fact implies: joining with a title states the new position; a founder title, the founding."""
    if fact.predicate == "joined" and fact.role:
        predicate = "holds_position"
    elif fact.predicate in ("holds_position", "formerly_at") and fact.role and FOUNDER.search(fact.role):
        predicate = "founded"
    else:
        return None
    return Fact(**{**fact.__dict__, "predicate": predicate, "rule": f"{fact.rule}+{predicate}",
                   "role": fact.role if predicate == "holds_position" else None})
