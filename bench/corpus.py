"""Synthetic Chinese news articles together with the facts each one states.

    python bench/corpus.py N OUT [--format files|jsonl] [--seed 0]

writes ``OUT/articles/`` (Markdown files with YAML front matter, 1,000 a folder) or
``OUT/articles.jsonl``, and ``OUT/gold.jsonl``: the facts and entities of every article in the
format of the extraction contract (SPEC.md §3), so that ``kg.evaluate.evaluate`` scores a build.

Articles are made of short stories (an appointment, a departure, a product launch, an
acquisition, a funding round, a founding, a reorganisation) written from templates. People are
drawn from surname and given-name lists, companies from invented brands, industries and legal
suffixes, units and products from the company's brand, dates around the publication date. Every
template sentence lists the facts it states; the gold holds exactly those. Generation is
deterministic for a seed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余杜叶程苏魏吕丁"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方邹孟熊秦邱江薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱严武戴莫孔汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞刚桂华志宏晓海峰文雪梅立光辉思远鸣子涵宇浩欣怡琪俊博晨阳昊默雯婷岚航"
BRAND_HEADS = "星云天北海锐启智澜曜极凌恒博嘉卓远明华瑞"
BRAND_TAILS = "河帆穹辰川航元光途峰石语芯翼驰越擎澄图岚"
INDUSTRIES = ("科技", "智能", "网络", "互娱", "数据", "汽车", "生物", "能源", "传媒", "半导体", "机器人", "云计算")
LEGAL_SUFFIXES = ("集团", "公司", "科技集团", "有限公司", "股份有限公司")
INVESTOR_SUFFIXES = ("资本", "创投", "投资基金")
UNIT_DOMAINS = ("云服务", "智能终端", "自动驾驶", "大模型", "国际业务", "电商", "支付", "芯片")
UNIT_SUFFIXES = ("事业群", "事业部", "研究院")
PRODUCT_NOUNS = ("助手", "手机", "手表", "音箱", "浏览器", "大模型", "输入法", "地图")
ROLES = ("首席执行官", "首席技术官", "首席财务官", "首席运营官", "总裁", "高级副总裁", "副总裁", "董事长",
         "技术总监", "产品总监")
FILLERS = (
    "业内人士认为，此次调整意在加快人工智能业务的落地。",
    "多位分析师表示，行业竞争正在加剧，头部企业纷纷加大研发投入。",
    "记者注意到，今年以来已有多家科技企业进行了组织架构调整。",
    "有接近公司的人士透露，相关业务今年的营收增速超过预期。",
    "市场研究机构的数据显示，该领域的市场规模仍在快速增长。",
)


@dataclass
class Doc:
    """One generated article: its text and the gold rows (facts and entities) it states."""

    id: str
    date: datetime.date
    title: str
    sentences: list[str] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)
    entities: dict[str, str] = field(default_factory=dict)  # name → type

    def markdown(self) -> str:
        """The article as a Markdown file with YAML front matter."""
        return (f"---\ntitle: \"{self.title}\"\ndate: \"{self.date.isoformat()}\"\n"
                f"source: \"https://news.example.com/{self.id}\"\n---\n\n" + "\n\n".join(self.sentences) + "\n")

    def jsonl(self) -> str:
        """The article as one line of a JSONL input file."""
        return json.dumps({"id": self.id, "title": self.title, "date": self.date.isoformat(),
                           "source": f"https://news.example.com/{self.id}", "text": "\n\n".join(self.sentences)},
                          ensure_ascii=False)

    def gold(self) -> Iterator[dict]:
        """The gold rows of this article (SPEC.md §3)."""
        for fact in self.facts:
            yield {"doc": self.id, **fact}
        for name, kind in self.entities.items():
            yield {"doc": self.id, "entity": name, "type": kind}


class Cast:
    """Draws names for one article, never the same person or organisation twice."""

    def __init__(self, rng: random.Random, doc: Doc) -> None:
        self.rng, self.doc = rng, doc
        self.used: set[str] = set()

    def _unique(self, make: Callable[[], str], kind: str) -> str:
        while True:
            name = make()
            if name not in self.used and not any(name in u or u in name for u in self.used):
                self.used.add(name)
                self.doc.entities[name] = kind
                return name

    def person(self) -> str:
        r = self.rng
        return self._unique(lambda: r.choice(SURNAMES) + "".join(r.choices(GIVEN, k=r.choice((1, 2, 2, 2)))),
                            "Person")

    def brand(self) -> str:
        return self.rng.choice(_brands())

    def company(self) -> str:
        r = self.rng

        def make() -> str:
            brand, industry, suffix = self.brand(), r.choice(INDUSTRIES), r.choice(LEGAL_SUFFIXES)
            return brand + industry + suffix.removeprefix(industry)  # 星河科技集团, not 星河科技科技集团

        return self._unique(make, "Organization")

    def investor(self) -> str:
        return self._unique(lambda: self.brand() + self.rng.choice(INVESTOR_SUFFIXES), "Organization")

    def unit(self, company: str) -> str:
        r = self.rng
        return self._unique(lambda: company[:2] + r.choice(UNIT_DOMAINS) + r.choice(UNIT_SUFFIXES), "Organization")

    def product(self, company: str) -> str:
        return self._unique(lambda: company[:2] + self.rng.choice(PRODUCT_NOUNS), "Product")


@functools.cache
def _brands() -> list[str]:
    """Invented brands: head + tail pairs that do not name a real organisation in kg's lexicon (海航)."""
    from kg.extract.lexicon import load

    real = load().gazetteer.names
    return [head + tail for head in BRAND_HEADS for tail in BRAND_TAILS if head + tail not in real]


def _fact(s: str, p: str, o: str, role: str | None = None, date: str | None = None) -> dict:
    row = {"s": s, "p": p, "o": o}
    if role:
        row["role"] = role
    if date:
        row["date"] = date
    return row


class Story:
    """Template sentences about one event; each method appends sentences and their facts to a Doc."""

    def __init__(self, rng: random.Random, doc: Doc, cast: Cast) -> None:
        self.rng, self.doc, self.cast = rng, doc, cast

    def say(self, sentence: str, *facts: dict) -> None:
        self.doc.sentences.append(sentence)
        self.doc.facts.extend(facts)

    def when(self) -> tuple[str, str]:
        """A date a few days to months before publication: (as written, ISO)."""
        day = self.doc.date - datetime.timedelta(days=self.rng.randrange(1, 120))
        if day.year == self.doc.date.year and self.rng.random() < 0.5:
            return f"{day.month}月{day.day}日", day.isoformat()
        return f"{day.year}年{day.month}月{day.day}日", day.isoformat()

    def role(self, *avoid: str) -> str:
        return self.rng.choice([r for r in ROLES if r not in avoid])

    # --- people ---

    def appointment(self) -> None:
        c, p, boss = self.cast.company(), self.cast.person(), self.cast.person()
        role, boss_role = self.role("董事长"), self.rng.choice(("董事长", "总裁", "首席执行官"))
        role = role if role != boss_role else "副总裁"
        written, iso = self.when()
        self.doc.title = f"{p}加盟{c}出任{role}"
        joined, holds = _fact(p, "joined", c, role, iso), _fact(p, "holds_position", c, role, iso)
        self.say(self.rng.choice((
            f"{written}，{p}正式加入{c}，出任{role}。",
            f"{c}{written}宣布，{p}已加盟{c}并担任{role}。",
        )), joined, holds)
        old, old_role = self.cast.company(), self.role()
        self.say(self.rng.choice((
            f"{p}此前曾在{old}担任{old_role}。",
            f"在加入{c}之前，{p}曾在{old}工作多年。",
        )), _fact(p, "formerly_at", old, old_role))
        self.say(f"{p}将向{c}{boss_role}{boss}汇报。",
                 _fact(p, "reports_to", boss), _fact(boss, "holds_position", c, boss_role))

    def departure(self) -> None:
        c, p, q = self.cast.company(), self.cast.person(), self.cast.person()
        role = self.role()
        written, iso = self.when()
        self.doc.title = f"{c}{role}{p}离职，{q}接任"
        self.say(f"{c}{role}{p}已于{written}从{c}离职。",
                 _fact(p, "left", c, date=iso), _fact(p, "holds_position", c, role))
        self.say(self.rng.choice((
            f"{q}接替{p}出任{c}{role}。",
            f"{p}的职务由{q}接任，{q}同时出任{c}{role}。",
        )), _fact(q, "succeeded", p), _fact(q, "holds_position", c, role))

    def founding(self) -> None:
        c, p = self.cast.company(), self.cast.person()
        year = str(self.doc.date.year - self.rng.randrange(3, 15))
        if self.rng.random() < 0.5:
            q = self.cast.person()
            self.say(f"{year}年，{p}与{q}共同创立{c}。",
                     _fact(p, "founded", c, date=year), _fact(q, "founded", c, date=year))
        else:
            self.say(f"{year}年，{p}创办了{c}。", _fact(p, "founded", c, date=year))

    # --- products and units ---

    def product_launch(self) -> None:
        c = self.cast.company()
        x, y = self.cast.product(c), self.cast.product(c)
        written, iso = self.when()
        self.doc.title = self.doc.title or f"{c}发布{x}"
        self.say(f"{written}，{c}发布了新一代产品“{x}”。", _fact(x, "belongs_to", c, date=iso))
        self.say(f"{c}旗下产品还包括{y}。", _fact(y, "belongs_to", c))
        p = self.cast.person()
        self.say(f"{c}副总裁{p}负责{x}的研发。", _fact(p, "holds_position", c, "副总裁"), _fact(p, "manages", x))

    def reorganisation(self) -> None:
        c = self.cast.company()
        u, v = self.cast.unit(c), self.cast.unit(c)
        written, iso = self.when()
        self.doc.title = self.doc.title or f"{c}组织架构调整"
        self.say(f"根据调整方案，{c}旗下的{u}于{written}整体并入{v}。",
                 _fact(u, "subunit_of", c), _fact(u, "merged_into", v, date=iso))
        p = self.cast.person()
        self.say(f"{p}将负责{v}的日常管理。", _fact(p, "manages", v))

    # --- companies ---

    def acquisition(self) -> None:
        buyer, target = self.cast.company(), self.cast.company()
        written, iso = self.when()
        self.doc.title = self.doc.title or f"{buyer}收购{target}"
        amount = self.rng.randrange(2, 90)
        self.say(f"{written}，{buyer}宣布以{amount}亿元全资收购{target}。", _fact(buyer, "acquired", target, date=iso))
        self.say(f"交易完成后，{target}成为{buyer}的全资子公司。", _fact(target, "subunit_of", buyer))

    def funding(self) -> None:
        c, lead, other = self.cast.company(), self.cast.investor(), self.cast.investor()
        written, iso = self.when()
        self.doc.title = self.doc.title or f"{c}完成新一轮融资"
        amount = self.rng.randrange(1, 30)
        self.say(f"{written}，{lead}领投了{c}的{amount}亿元B轮融资。", _fact(lead, "invested_in", c, date=iso))
        self.say(f"{other}也参投了{c}本轮融资。", _fact(other, "invested_in", c))

    def merger(self) -> None:
        a, b = self.cast.company(), self.cast.company()
        written, iso = self.when()
        self.doc.title = self.doc.title or f"{a}与{b}合并"
        self.say(f"{written}，{a}宣布与{b}合并。", _fact(a, "merged_with", b, date=iso))

    def spin_off(self) -> None:
        parent, child = self.cast.company(), self.cast.company()
        written, iso = self.when()
        self.doc.title = self.doc.title or f"{parent}分拆{child}"
        self.say(f"{written}，{child}正式从{parent}分拆，独立运营。", _fact(child, "spun_off_from", parent, date=iso))


PEOPLE_STORIES = (Story.appointment, Story.departure)
OTHER_STORIES = (Story.product_launch, Story.reorganisation, Story.acquisition, Story.funding, Story.founding,
                 Story.merger, Story.spin_off)


def generate(n: int, seed: int = 0, start: int = 0) -> Iterator[Doc]:
    """``n`` articles ``syn-<number>``, numbered from ``start``; the same for the same seed."""
    for number in range(start, start + n):
        rng = random.Random(f"{seed}-{number}")
        published = datetime.date(2023, 1, 1) + datetime.timedelta(days=rng.randrange(3 * 365))
        doc = Doc(id=f"syn-{number:06d}", date=published, title="")
        cast = Cast(rng, doc)
        story = Story(rng, doc, cast)
        rng.choice(PEOPLE_STORIES)(story)
        for tell in rng.sample(OTHER_STORIES, rng.randrange(1, 3)):
            tell(story)
        doc.sentences.insert(rng.randrange(1, len(doc.sentences) + 1), rng.choice(FILLERS))
        yield doc


def write_corpus(n: int, out: Path, fmt: str = "files", seed: int = 0) -> Path:
    """Write ``n`` articles and ``out/gold.jsonl``; return the input path for ``kg build``."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / ("articles.jsonl" if fmt == "jsonl" else "articles")
    with open(out / "gold.jsonl", "w", encoding="utf-8") as gold, \
            (open(target, "w", encoding="utf-8") if fmt == "jsonl" else contextlib.nullcontext()) as lines:
        for doc in generate(n, seed):
            if lines is None:
                folder = target / doc.id[4:7]
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{doc.id}.md").write_text(doc.markdown(), encoding="utf-8")
            else:
                lines.write(doc.jsonl() + "\n")
            gold.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in doc.gold())
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of articles")
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--format", choices=("files", "jsonl"), default="files",
                        help="one Markdown file per article (default) or one JSONL file")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    target = write_corpus(args.n, args.out, args.format, args.seed)
    print(f"wrote {args.n} articles to {target} and their facts to {args.out / 'gold.jsonl'}")


if __name__ == "__main__":
    main()
