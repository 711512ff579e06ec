"""Entity, role, date and reference mentions in an article's analysed text.

Recognition runs in two passes over the article:

1. *discover* names the lexicon does not know, each confirmed by its context:
   organisations by suffix (…集团, …事业部, …大学) with their modifiers and
   parent (阿里云智能集团无影事业部 → parent 阿里云智能集团), person names
   from the surname list plus a title before or a cue after (表示, 出任 …),
   transliterated names with a middle dot, names in parentheses
   (陈航（花名：无招）), Latin names after 厂商/公司, products after
   旗下…应用/产品 or in quotes after a product cue;
2. *tag* every occurrence of every known name (lexicon plus what pass 1
   found) by longest match, then job titles, dates and references
   (他/她, 该公司, 公司, 后者).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

import jieba.posseg

from kg.extract import cues as W
from kg.extract.dates import find_dates
from kg.extract.lexicon import Gazetteer, Lexicon, candidate_offsets
from kg.model import ORGANIZATION, PERSON, PRODUCT

PER, ORG, PRD, ROLE, DATE, PREF, OREF = "PER", "ORG", "PRD", "ROLE", "DATE", "PREF", "OREF"
TYPE_OF_KIND = {PERSON: PER, ORGANIZATION: ORG, PRODUCT: PRD}
KIND_OF_TYPE = {v: k for k, v in TYPE_OF_KIND.items()}

HAN = "\u4e00-\u9fff"


@dataclass
class Mention:
    """A typed span of ``article.text``.

    ``key`` is the canonical entity name (entities), the ISO value (dates) or
    the role as worded (roles); ``parent`` names the organisation a nested unit
    name starts with; ``credit`` marks an outlet credited as the source
    (路透北京11月20日 -, 财联社11月20日电, 据晚点报道), which no reference points back to.
    """

    start: int
    end: int
    type: str
    text: str
    key: str
    parent: str | None = None
    credit: bool = False


@dataclass
class Names:
    """What pass 1 learnt about one article: surfaces, aliases and parents."""

    gazetteer: Gazetteer
    parents: dict[str, str]  # unit canonical → parent canonical


# ---------------------------------------------------------------- pass 1

_LATIN = r"[A-Za-z][A-Za-z0-9&.\-]*(?: [A-Z][A-Za-z0-9&.\-]*)*"
_ORG_SUFFIX = re.compile("|".join(sorted(map(re.escape, W.ORG_SUFFIXES), key=len, reverse=True)))
_DOTTED = re.compile(rf"[{HAN}]{{1,12}}(?:[·・•‧∙][{HAN}]{{1,10}})+")
_PAREN = re.compile(r"\(([^()]{1,40})\)")
_LATIN_AFTER_CUE = re.compile(
    rf"(?:{'|'.join(W.LATIN_ORG_CUES)})({_LATIN})(?![A-Za-z0-9]|{'|'.join(W.LATIN_NOUN_TAILS)})"
)
_QUOTED_BEFORE = re.compile(r"[「“\"『][^「“\"『」”』]{1,12}$")
_PRODUCT_AFTER_CUE = re.compile(
    rf"(?:{'|'.join(W.PRODUCT_CUES)})[“\"「《]?([A-Za-z0-9{HAN}][A-Za-z0-9{HAN} ]{{0,11}}?)[”\"」》]?"
    rf"(?={'|'.join(W.PRODUCT_RIGHT_STOPS)}|[,。;:、()]|$)"
)
_PRODUCT_LIST = re.compile(
    rf"([A-Za-z0-9{HAN}“”]{{2,12}}(?:(?:、|和|及|与|以及)[A-Za-z0-9{HAN}“”]{{2,12}})+)等[^,。;]{{0,8}}?"
    r"(?:产品|应用|App|APP|品牌|大模型|游戏)"
)
_LATIN_LIST_PARTNER = re.compile(rf"(、|和|与|及)({_LATIN})(?![A-Za-z0-9])")
_LEFT_STOPS = frozenset(W.LEFT_STOPS)
_LEFT_STOPS_LONGEST = max(map(len, _LEFT_STOPS))
_LONG_LEFT_STOPS = tuple(w for w in W.LEFT_STOPS if len(w) > 1)
_NON_NAME = frozenset(W.NON_NAME_CHARS)
_NUMERALS = frozenset("一二三四五六七八九十百千万两几零〇")
# 原/前 opening a clause (not 目前, 提前): what may follow is a former employer and a title.
_FORMER_OPENING = re.compile(rf"(?:^|(?<=[^{HAN}]))(?:原|前)")
_HAN_RUN = re.compile(rf"[{HAN}]+")
_PERSON_CUE = re.compile("|".join(map(re.escape, sorted(W.PERSON_RIGHT_CUES, key=len, reverse=True))))  # longest first
_LIST_ITEM = re.compile(rf"[”\"」》]?(?:、|和|及)[“\"「《]?([A-Za-z0-9{HAN}]{{2,10}}?)(?=[”\"」》]|[、和及,。;等]|$)")
_QUOTED = re.compile(r"[“\"「]([^”\"」]{2,16})[”\"」]")


def discover(text: str, lex: Lexicon) -> Names:
    """Pass 1: learn the article's own names on top of the lexicon."""
    names = Names(lex.gazetteer.copy(), {})
    gaz = names.gazetteer
    for alias, canonical in lex.risky.items():  # 长城 counts once 长城汽车 is in the text
        if canonical in text and canonical in gaz.names:
            gaz.add(alias, gaz.names[canonical][0], gaz.names[canonical][1])
    _discover_organizations(text, lex, names)
    for match in _LATIN_AFTER_CUE.finditer(text):
        if match.group(1) not in gaz.names and len(match.group(1)) > 1 and match.group(1) not in lex.titles:
            gaz.add(match.group(1), ORGANIZATION, match.group(1))
    for match in _PRODUCT_AFTER_CUE.finditer(text):
        products = [match.group(1).strip()]
        pos = match.end()
        while more := _LIST_ITEM.match(text, pos):  # 核心产品为星河云盘、星河地图
            products.append(more.group(1))
            pos = more.end()
        for name in products:
            if len(name) >= 2 and name not in gaz.names and not _is_generic(name, lex) \
                    and not _ORG_SUFFIX.search(name):
                gaz.add(name, PRODUCT, name)
    for match in _QUOTED.finditer(text):
        name = match.group(1)
        before, after = text[max(0, match.start() - 4):match.start()], text[match.end():match.end() + 3]
        if name not in gaz.names and (any(before.endswith(c) for c in W.PRODUCT_NOUNS)
                                      or any(after.startswith(c) for c in W.PRODUCT_TAILS)):
            gaz.add(name, PRODUCT, name)
    for match in _PRODUCT_LIST.finditer(text):
        items = re.split("、|和|及|与|以及", match.group(1))
        for word in W.LEFT_STOPS:  # the first item starts after the verb (统管夸克、通义等产品)
            cut = items[0].rfind(word)
            if cut >= 0:
                items[0] = items[0][cut + len(word):]
        for name in map(str.strip, items):
            if 2 <= len(name) <= 10 and name not in gaz.names and not _is_generic(name, lex):
                gaz.add(name, PRODUCT, name)
    for match in W.DESCRIBED_NAME.finditer(text):  # 游戏公司云端互动, but not 星河科技公司|分拆
        name = match.group(1)
        if name not in gaz.names and not _is_generic(name, lex) and not _NON_NAME.intersection(name) \
                and _known_ending_at_any(text, match.start(1), gaz) is None:
            gaz.add(name, ORGANIZATION, name)
    for match in _LATIN_LIST_PARTNER.finditer(text):  # 高盛和DST: a list partner of a known organisation
        before = _known_ending_at_any(text, match.start(), gaz)
        name = match.group(2)
        if before and gaz.names[before][0] == ORGANIZATION and name not in gaz.names and name not in lex.titles:
            gaz.add(name, ORGANIZATION, name)
    _discover_former_employers(text, lex, gaz)
    _discover_dotted(text, gaz)
    _discover_people(text, lex, names)
    _discover_titled_strangers(text, lex, gaz)
    _discover_parenthesised(text, gaz)
    return names


def _discover_former_employers(text: str, lex: Lexicon, gaz: Gazetteer) -> None:
    """An unknown name between 原/前 opening a clause and a title before a person's name is an
    organisation: 原人人网产品经理程一笑 (a former employer is how news introduces a person)."""
    roles = role_regex(lex)
    for match in _FORMER_OPENING.finditer(text):
        at = match.end()
        for length in range(2, 7):
            name, end = text[at:at + length], at + length
            if not _HAN_RUN.fullmatch(name) or name in gaz.names:
                break
            role = roles.match(text, end)
            if role and _HAN_RUN.match(text, role.end()):
                if not (_is_generic(name, lex) or _NON_NAME.intersection(name) or roles.search(name)):
                    gaz.add(name, ORGANIZATION, name)
                break


def _is_generic(name: str, lex: Lexicon) -> bool:
    return name in W.GENERIC_WORDS or name in lex.common_words or name in lex.titles or name in lex.places


def _discover_organizations(text: str, lex: Lexicon, names: Names) -> None:
    gaz = names.gazetteer
    for match in _ORG_SUFFIX.finditer(text):
        start, end = _extend_left(text, match.start(), lex, gaz), match.end()
        # a longer suffix run (…有限公司) or a following suffix (…集团公司) belongs to the name
        tail = next((t for t in W.ORG_SUFFIX_TAILS if text.startswith(t, end)), None)
        if tail and match.group() not in W.ORG_SUFFIX_TAILS:  # 星河科技|集团, 北辰控股|有限公司
            end += len(tail)
        known = _leading_known_org(text[start:match.start()] + "集团", gaz)
        prefix_end = start + (len(known[0]) if known else 0)
        trimmed = _trim_modifier(text, prefix_end, match.start(), match.group(), bool(known), lex.word_freq)
        if trimmed > prefix_end or not known:
            start = trimmed
        if known and start == prefix_end == match.start() and match.group() not in W.ORG_NAME_TAILS:
            continue  # 阿里云|开启|事业部 trimmed to nothing after the known name
        modifier = text[start:match.start()]
        if match.group() in W.COMPANY_SUFFIXES and len(modifier) < 2 or W.COUNTED.match(modifier):
            continue  # 慢公司, 五大事业部
        if not modifier or modifier in W.GENERIC_MODIFIERS or modifier in lex.places and match.group() in (
                "公司", "集团"):
            continue
        if match.group() in W.NEEDS_NAMED_PREFIX and not _starts_with_known(modifier.strip("「“\"『"), gaz):
            continue
        name = text[start:end]
        known = gaz.names.get(name)
        after = gaz.match(text, end) if end < len(text) else None
        if known or after and gaz.names[after][0] == ORGANIZATION:
            continue  # known already, or a descriptor of the name that follows (本地生活公司|饿了么)
        if name[0] in "「“\"『":
            plain = re.sub("[「」“”\"『』]", "", name)
            gaz.add(name, ORGANIZATION, plain)
            gaz.add(plain, ORGANIZATION, plain)
            continue
        parent = _leading_known_org(name, gaz)
        if parent and parent[0] == name:
            continue
        canonical = name
        if parent is None:
            stripped = _strip_place(name, lex, gaz)
            if stripped != name:
                gaz.add(stripped, ORGANIZATION, stripped)
                canonical = stripped
        if parent and W.GENERIC_TAIL.fullmatch(name[len(parent[0]):]):  # Salesforce集团, 宁德时代新能源科技股份有限公司
            gaz.add(name, ORGANIZATION, parent[1])
            continue
        if parent:  # 阿里云无影事业部 and 阿里云智能集团无影事业部: one unit of one parent
            canonical = parent[1] + name[len(parent[0]):]
        gaz.add(name, ORGANIZATION, canonical)
        if parent:
            prefix, parent_canonical = parent
            names.parents[canonical] = parent_canonical
            short = name[len(prefix):]
            if len(short) >= 3 and short not in gaz.names:
                gaz.add(short, ORGANIZATION, canonical)


def _unit_before_title(text: str, at: int, known: str, lex: Lexicon, names: Names) -> int:
    """After a known organisation ending at ``at``: two to four characters, then a title, name a unit
    of it (网易严选原CEO). Registers the unit and returns its length (0 if there is none)."""
    roles = role_regex(lex)
    if roles.match(text, at):
        return 0
    for n in (2, 3, 4):  # the shortest unit name before a title: 网易|严选|原CEO
        unit = text[at:at + n]
        if len(unit) < n or not _HAN_RUN.fullmatch(unit) or _ORG_SUFFIX.match(text, at + n) \
                or _ORG_SUFFIX.search(unit) or unit in lex.places or not _NON_NAME.isdisjoint(unit) \
                or any(w in unit for w in _LONG_LEFT_STOPS):
            continue
        if roles.match(text, at + n):
            name = known + unit
            if name not in names.gazetteer.names:
                names.gazetteer.add(name, ORGANIZATION, name)
                names.parents[name] = names.gazetteer.names[known][1]
            return n
    return 0


def _extend_left(text: str, pos: int, lex: Lexicon, gaz: Gazetteer) -> int:
    """Start of the modifier that precedes an organisation suffix at ``pos``."""
    if pos and re.match(r"[A-Za-z0-9]", text[pos - 1]):
        latin = re.search(rf"{_LATIN}$", text[max(0, pos - 40):pos])
        return pos - len(latin.group()) if latin else pos
    if pos and text[pos - 1] in "」”\"』" and (quoted := _QUOTED_BEFORE.search(text, max(0, pos - 14), pos - 1)):
        return pos - 1 - len(quoted.group())  # 「混元助手」项目组
    start = pos
    limit = max(0, pos - W.MAX_ORG_MODIFIER)
    while start > limit:
        ch = text[start - 1]
        if ch == ")" and (open_ := text.rfind("(", limit, start)) > 0 and start - open_ <= 6:
            start = open_
            continue
        if not re.match(rf"[{HAN}A-Za-z0-9]", ch):
            break
        if ends_with_any(text, start, _LEFT_STOPS, _LEFT_STOPS_LONGEST) and not (
                start == pos and text[start - 2:start] in W.NAME_INTERNAL):  # 星澄投资|基金
            break
        start -= 1
    if start == limit and start:  # the longest modifier cut a known name: start with it (中国农业发展银行江西省分行)
        start = next((s for s in range(start - 1, max(0, start - 16), -1)
                      if any(text[s:e] in gaz.names for e in range(start + 1, min(len(text), s + 17) + 1))), start)
    # a known organisation right before the modifier is the parent: keep it in the name
    known = _known_ending_at(text, start, gaz)
    return known if known is not None else start


def _trim_modifier(text: str, start: int, end: int, suffix: str, after_known: bool, word_freq: dict[str, int]) -> int:
    """Move ``start`` past the last word of the modifier that cannot belong to a name (by jieba's tags).

    Function words always break (阿里云|一级|事业部; single characters only from a closed list, since
    jieba tags the characters of unknown names at random). Verbs and adjectives break unless they are
    the word right before the suffix (持有|哈佛商学院, but 游戏发行事业部, 星河云计算公司) or a verbal
    noun before it (自动驾驶事业群) — and even there when they are all a company's modifier (落实|公司)
    or open what follows a known name (有赞|开启|事业部). A rare word that opens the name (after the
    modifier's start or a break) is a brand whatever its tag (远航机器人公司, 领投了|天元互娱集团).
    """
    company = suffix in W.COMPANY_SUFFIXES
    words = _tags(text[start:end])
    pos = start
    last = len(words) - 1
    for n, (word, flag) in enumerate(words):
        opens, pos = pos == start, pos + len(word)
        if opens and not after_known and len(word) > 1 and not word.isascii() \
                and word_freq.get(word, 0) < W.BRAND_WORD_FREQ:
            continue
        verb = flag.startswith(("v", "a")) and len(word) > 1 and (
            n < last and not (n == last - 1 and flag == "vn" and not company and words[last][1].startswith("v"))
            or n == 0 and (company or after_known))
        function_word = flag.startswith(W.MODIFIER_BREAK_TAGS) and (len(word) > 1 or word in W.FUNCTION_CHARS)
        if function_word or verb:
            start = pos
    return start


@lru_cache(maxsize=65536)
def _tags(phrase: str) -> tuple[tuple[str, str], ...]:
    """jieba's words and part-of-speech tags of a short phrase (cached: modifiers recur)."""
    return tuple((w.word, w.flag) for w in jieba.posseg.cut(phrase, HMM=False))


def _known_ending_at(text: str, pos: int, gaz: Gazetteer) -> int | None:
    for length in range(min(pos, 12), 1, -1):
        if gaz.names.get(text[pos - length:pos], (None,))[0] == ORGANIZATION:
            return pos - length
    return None


def _starts_with_known(modifier: str, gaz: Gazetteer) -> bool:
    return any(modifier[:n] in gaz.names for n in range(2, len(modifier) + 1))


def _leading_known_org(name: str, gaz: Gazetteer) -> tuple[str, str] | None:
    """The longest known organisation (or product owner) the name starts with."""
    for n in range(len(name) - 1, 1, -1):
        hit = gaz.names.get(name[:n])
        if hit and hit[0] == ORGANIZATION:
            return name[:n], hit[1]
    return None


def _strip_place(name: str, lex: Lexicon, gaz: Gazetteer) -> str:
    for n in range(2, min(len(name) - 3, 4) + 1):
        rest = name[n:]
        if name[:n] in lex.places and name[:n] not in W.NATIONAL_PREFIXES and rest in gaz.names:
            return rest
    return name


def _discover_dotted(text: str, gaz: Gazetteer) -> None:
    for match in _DOTTED.finditer(text):
        parts = re.split("[·・•‧∙]", match.group())
        first = parts[0]
        keep = len(first)
        while keep and first[keep - 1] in W.TRANSLITERATION_CHARS:
            keep -= 1
        first = first[keep:]
        for word in W.DOTTED_LEFT_CUTS:
            cut = first.rfind(word)
            if cut >= 0:
                first = first[cut + len(word):]
        last = parts[-1]
        cut = next((i for i, ch in enumerate(last) if ch not in W.TRANSLITERATION_CHARS or last.startswith(
            tuple(W.PERSON_RIGHT_CUES), i)), len(last))
        last = last[:cut]
        if not first or not last:
            continue
        name = "·".join([first, *parts[1:-1], last])
        gaz.add(name, PERSON, name)
        gaz.add(name.replace("·", "・"), PERSON, name)
        gaz.add(name.replace("·", ""), PERSON, name)
        for part in {first, last}:
            if len(part) >= 2:
                gaz.add(part, PERSON, name)


def _discover_people(text: str, lex: Lexicon, names: Names) -> None:
    """Chinese names: a surname, one or two given characters, confirmed by context.

    The same left-to-right scan finds units named between a known organisation and a title.
    """
    gaz = names.gazetteer
    i = 0  # everything before i is taken
    for j in candidate_offsets(text, 0, len(text) - 1, lex.scan):
        if j < i:
            continue
        known = gaz.match(text, j)
        if known:
            i = j + len(known)
            if gaz.names[known][0] == ORGANIZATION:
                i += _unit_before_title(text, i, known, lex, names)
            continue
        name = _person_at(text, j, lex)
        if name:
            gaz.add(name, PERSON, name)
            i = j + len(name)


def _discover_titled_strangers(text: str, lex: Lexicon, gaz: Gazetteer) -> None:
    """A name whose surname is not in the list, between a title and a person cue (联席总裁浣昉在…):
    two or three characters that are no dictionary word, the ones followed by the longest cue."""
    for match in role_regex(lex).finditer(text):
        at = match.end()
        if at >= len(text) or text[at] in lex.surnames or text[at] in _NUMERALS or gaz.match(text, at):
            continue  # (CEO一职)
        candidates = []
        for name in (text[at:at + 2], text[at:at + 3]):
            if len(name) > 1 and _NON_NAME.isdisjoint(name) and _HAN_RUN.fullmatch(name) \
                    and lex.word_freq.get(name, 0) < W.NAME_WORD_FREQ and not _is_generic(name, lex) \
                    and (cue := _cue_length(text, at + len(name))):
                candidates.append((cue, len(name), name))
        if candidates:
            name = max(candidates)[2]
            gaz.add(name, PERSON, name)


def _person_at(text: str, i: int, lex: Lexicon) -> str | None:
    surname = text[i:i + 2] if text[i:i + 2] in lex.surnames else text[i]
    if surname not in lex.surnames:
        return None
    if len(surname) == 2 and _left_cue(text, i + 1, lex, strong=True):
        return None  # the compound surname starts in a title: 董事长|孙立, not 董事|长孙立
    ambiguous = surname in lex.ambiguous_surnames  # 任, 车: names only between a title and a cue
    if ambiguous and not _left_cue(text, i, lex, strong=True):
        return None
    if i and (lex.word_freq.get(text[i - 1:i + 1], 0) or lex.word_freq.get(text[i - 2:i + 1], 0)) \
            and not _left_cue(text, i, lex):
        return None  # the surname ends a word that starts before it (对方|表示)
    g = i + len(surname)
    given = ""
    for ch in text[g:g + 2]:
        if not re.match(rf"[{HAN}]", ch) or ch in W.NON_NAME_CHARS:
            break
        given += ch
    if not given:
        return None
    titled = _left_cue(text, i, lex, strong=True)
    if _is_generic(surname + given[0], lex) and not titled:  # 成立, 高管: a word, not a name
        return None
    candidates = [c for c in (surname + given[:n] for n in (2, 1) if n <= len(given))
                  if titled and _cue_length(text, i + len(c)) or not _is_generic(c, lex) and (
                      lex.word_freq.get(c, 0) < W.NAME_WORD_FREQ or lex.word_tags.get(c, "").startswith("nr"))]
    if not candidates:
        return None
    cue, _, name = max((_cue_length(text, i + len(c)), len(c), c) for c in candidates)
    if cue:  # the candidate followed by the longest cue: 吴嘉|汇报, 许主洪|加入, 张峰|调任, 刘作虎|将
        return name
    if not titled or ambiguous:
        return None
    if len(candidates) == 2 and lex.word_freq.get(text[g + 1:g + 3], 0) >= W.WORD_FREQ_BREAK:
        return candidates[1]  # no cue after: a last character that starts a word is not the name's
    return candidates[0]


def _left_cue(text: str, i: int, lex: Lexicon, strong: bool = False) -> bool:
    """A title or a person word before position ``i`` (not strong: a list separator or adverb will do)."""
    return ends_with_any(text, i, _left_cue_words(lex, strong))


@cache
def _left_cue_words(lex: Lexicon, strong: bool) -> frozenset[str]:
    words = W.PERSON_LEFT_CUES if strong else (*W.PERSON_LEFT_CUES, *W.PERSON_LEFT_BOUNDARIES)
    return frozenset((*lex.titles, *words))


def ends_with_any(text: str, pos: int, words: frozenset[str], longest: int = 8) -> bool:
    """Whether ``text[:pos]`` ends with one of ``words`` (set lookups, not a scan of the words)."""
    return any(text[pos - n:pos] in words for n in range(1, min(pos, longest) + 1))


def _cue_length(text: str, pos: int) -> int:
    """Length of the longest person cue (表示, 出任 …) starting at ``pos``; 0 if there is none."""
    cue = _PERSON_CUE.match(text, pos)
    return len(cue.group()) if cue else 0


def _discover_parenthesised(text: str, gaz: Gazetteer) -> None:
    for match in _PAREN.finditer(text):
        owner = _known_ending_at_any(text, match.start(), gaz)
        if owner is None:
            continue
        inner = match.group(1).strip()
        label = next((w for w in W.ALIAS_LABELS if inner.startswith(w)), "")
        inner = inner[len(label):].lstrip(":").strip("“”\"「」")
        kind, canonical = gaz.names[owner]
        latin = re.fullmatch(r"[A-Za-z][A-Za-z .\-]{1,38}", inner)
        han = re.fullmatch(rf"[{HAN}A-Za-z0-9]{{2,8}}", inner)
        if latin or han and (label or kind == PERSON and len(inner) <= 4):  # 简称“星河动力”, 花名:无招
            gaz.add(inner.strip(), kind, canonical)
        if latin and kind == PERSON and " " in inner:  # Oliver Blume: later "Blume" alone
            gaz.add(inner.split()[-1], kind, canonical)


def _known_ending_at_any(text: str, pos: int, gaz: Gazetteer) -> str | None:
    for length in range(min(pos, 16), 1, -1):
        if text[pos - length:pos] in gaz.names:
            return text[pos - length:pos]
    return None


# ---------------------------------------------------------------- pass 2


def tag(text: str, start: int, end: int, names: Names, lex: Lexicon,
        dates: list) -> list[Mention]:
    """Pass 2: every mention in ``text[start:end]`` (one sentence), in order."""
    mentions: list[Mention] = []
    gaz = names.gazetteer
    taken = bytearray(end - start)
    for d in dates:
        if start <= d.start and d.end <= end:
            mentions.append(Mention(d.start, d.end, DATE, text[d.start:d.end], d.value))
            taken[d.start - start:d.end - start] = b"\1" * (d.end - d.start)
    next_free = start
    for i in gaz.starts(text, start, end):  # only where a name can start
        if i < next_free or taken[i - start]:
            continue
        surface = gaz.match(text, i)
        if surface and lex.word_freq.get(text[i + len(surface) - 1:i + len(surface) + 1], 0) >= W.SPLIT_WORD_FREQ \
                and not surface.isascii() and surface in lex.gazetteer.names:
            surface = None  # a lexicon name whose last character starts a common word: 教育部|门
        if surface and i + len(surface) <= end and not any(taken[i - start:i - start + len(surface)]):
            kind, canonical = gaz.names[surface]
            mentions.append(Mention(i, i + len(surface), TYPE_OF_KIND[kind], surface, canonical,
                                    names.parents.get(canonical)))
            taken[i - start:i - start + len(surface)] = b"\1" * len(surface)
            next_free = i + len(surface)
    for regex, kind in ((W.ORG_REF_RE, OREF), (W.PERSON_REF_RE, PREF), (role_regex(lex), ROLE)):
        for seg_start, seg_end in _free_runs(taken, start):
            for match in regex.finditer(text, seg_start, seg_end):
                s, e = match.span()
                key = _clean_role(match.group()) if kind == ROLE else match.group()
                mentions.append(Mention(s, e, kind, match.group(), key))
                taken[s - start:e - start] = b"\1" * (e - s)
    mentions.sort(key=lambda m: m.start)
    for m in mentions:
        if m.type == ORG and (W.CREDIT_AFTER.match(text, m.end) or ends_with_any(text, m.start, W.CREDIT_BEFORE)):
            m.credit = True
    return mentions


@cache
def role_regex(lex: Lexicon) -> re.Pattern[str]:
    """Job titles: an optional tense prefix (前, 原, 现任), modifiers (高级, 首席, 传媒 …), a title."""
    def alt(words: Iterable[str]) -> str:
        return "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    return re.compile(
        rf"(?:{alt(W.ROLE_TENSE_PREFIXES)})?(?:{alt(lex.title_modifiers)}){{0,3}}(?:{alt(lex.titles)})"
        rf"(?:兼(?:{alt(lex.title_modifiers)}){{0,2}}(?:{alt(lex.titles)}))?(?!会)"
    )


def _free_runs(taken: bytearray, offset: int) -> list[tuple[int, int]]:
    """Maximal runs of characters no mention has taken yet, as absolute spans."""
    return [(offset + m.start(), offset + m.end()) for m in re.finditer(rb"\x00+", bytes(taken))]


def _clean_role(role: str) -> str:
    for prefix in W.ROLE_TENSE_PREFIXES:
        if role.startswith(prefix) and len(role) > len(prefix):
            return role[len(prefix):]
    return role


def article_dates(text: str, ref: str | None) -> list:
    """Date mentions of the whole article text, resolved against its date."""
    try:
        ref_date = date.fromisoformat(ref[:10]) if ref else None
    except ValueError:
        ref_date = None
    return find_dates(text, ref_date)
