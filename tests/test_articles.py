"""kg.articles: decoding, front matter, formats, markup stripping and the offset map."""

from __future__ import annotations

import hashlib
import html
import json
import pickle
import re
import unicodedata

import pytest

from kg.articles import ArticleError, decode, parse_article, read_file, read_paths
from kg.model import Article


def check_offsets(article: Article) -> None:
    """Every character of ``text`` comes from the body character its offset points at."""
    assert len(article.offsets) == len(article.text) + 1
    assert article.offsets[-1] == len(article.body)
    assert article.offsets == sorted(article.offsets)
    for i, ch in enumerate(article.text):
        j = article.offsets[i]
        if article.body[j] == "&":  # an HTML entity: its decoded characters all point at the "&"
            source = html.unescape(re.match(r"&#?\w+;", article.body[j:]).group())
        else:
            source = article.body[j]
        assert ch in unicodedata.normalize("NFKC", source), (i, ch, article.body[j])


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --- front matter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"2025-02-07 20:17:42"', "2025-02-07"),  # quoted: a string
        ("2025-02-07 20:17:42", "2025-02-07"),  # unquoted: YAML makes a datetime
        ("2025-02-07T23:30:00+08:00", "2025-02-07"),  # aware datetime keeps its own day
        ("2025-02-07", "2025-02-07"),  # unquoted: a date
        ('"2025/2/7"', "2025-02-07"),
        ('"2025年2月7日 08:00"', "2025-02-07"),
        ('"不详"', None),
        ('"2025-02-30"', None),
    ],
)
def test_front_matter_date_forms(value, expected):
    article = parse_article(f"---\ntitle: 标题\ndate: {value}\n---\n正文。\n", "doc")
    assert article.date == expected


def test_front_matter_fields(tmp_path):
    raw = (
        "---\n"
        'title: "远航科技任命新总裁"\n'
        "date: 2024-03-05\n"
        "url: https://news.example.com/yuanhang/1\n"
        "site: 示例日报\n"
        "author: 记者甲\n"
        "tags:\n  - 人事\n"
        "---\n"
        "远航科技今日宣布，赵明出任总裁。\n"
    )
    path = write(tmp_path / "yuanhang-2024.md", raw)
    [article] = read_file(path)
    assert article.id == "yuanhang-2024"
    assert article.title == "远航科技任命新总裁"
    assert article.date == "2024-03-05"
    assert article.source == "https://news.example.com/yuanhang/1"
    assert article.site == "示例日报"
    assert article.path == str(path)
    assert article.body == "远航科技今日宣布，赵明出任总裁。\n"  # after the closing "---" line
    assert article.text == "远航科技今日宣布,赵明出任总裁。\n"
    assert article.content_hash == hashlib.sha256(raw.encode()).hexdigest()


@pytest.mark.parametrize("key", ["source", "url", "link"])
def test_source_keys(key):
    article = parse_article(f"---\n{key}: https://example.com/a\n---\n正文\n", "doc")
    assert article.source == "https://example.com/a"


def test_trailing_source_link(tmp_path):
    body = "星云集团宣布完成重组。\n\n新公司由陈静负责。\n\n[qq](https://new.qq.com/rain/a/20240101X00TEST)\n"
    [article] = read_file(write(tmp_path / "xingyun.md", f"---\ntitle: 星云集团重组\n---\n{body}"))
    assert article.site == "qq"
    assert article.source == "https://new.qq.com/rain/a/20240101X00TEST"
    assert article.body == body
    assert article.text == "星云集团宣布完成重组。\n\n新公司由陈静负责。\n\n"
    check_offsets(article)


def test_trailing_link_does_not_override_front_matter_source():
    raw = "---\nsource: https://example.com/original\n---\n正文一句。\n[某网](https://example.com/copy)"
    article = parse_article(raw, "doc")
    assert article.source == "https://example.com/original"
    assert article.site == "某网"
    assert article.text == "正文一句。\n"


def test_title_falls_back_to_first_heading():
    article = parse_article("---\ndate: 2024-01-01\n---\n导语一行。\n\n## **海川**公司换帅\n正文。\n", "doc")
    assert article.title == "海川公司换帅"


def test_title_falls_back_to_first_line_without_markup():
    raw = "---\ndate: 2024-01-01\n---\n![图](a.png)\n\n**海川公司**宣布换帅\n正文。\n"
    article = parse_article(raw, "doc")
    assert article.title == "海川公司宣布换帅"


def test_invalid_front_matter_is_an_error(tmp_path):
    path = write(tmp_path / "bad.md", "---\ntitle: [未闭合\n---\n正文。\n")
    with pytest.raises(ArticleError, match="front matter"):
        read_file(path)
    [error] = read_paths([path])
    assert isinstance(error, ArticleError) and error.path == str(path)


def test_leading_block_that_is_not_a_mapping_is_text():
    raw = "---\n只是一段文字\n---\n正文。\n"
    article = parse_article(raw, "doc")
    assert article.body == raw
    assert article.title == "只是一段文字"
    check_offsets(article)


def test_crlf_line_endings():
    article = parse_article("---\r\ntitle: 标题\r\n---\r\n第一段。\r\n第二段。\r\n", "doc")
    assert article.title == "标题"
    assert article.body == "第一段。\r\n第二段。\r\n"
    assert article.text == "第一段。\n第二段。\n"
    check_offsets(article)


# --- plain text -------------------------------------------------------------------------------


def test_plain_text_title_is_first_non_empty_line(tmp_path):
    raw = "\n\n  云端公司宣布组织调整  \n公司发言人表示，调整将于下月生效。\n"
    [article] = read_file(write(tmp_path / "yunduan.txt", raw))
    assert article.id == "yunduan"
    assert article.title == "云端公司宣布组织调整"
    assert article.body == raw
    assert "云端公司宣布组织调整" in article.text
    assert article.date is None and article.source is None
    check_offsets(article)


# --- JSON Lines -------------------------------------------------------------------------------


def test_jsonl_with_bad_lines(tmp_path):
    good = {"id": "j1", "title": "蓝海银行新行长到任", "date": "2024-06-01 09:00:00",
            "url": "https://example.com/j1", "text": "蓝海银行新任行长孙立今日到任。"}
    lines = [
        json.dumps(good, ensure_ascii=False),
        json.dumps({"title": "缺少编号", "text": "没有编号的一行。"}, ensure_ascii=False),
        "",
        json.dumps({"id": "j3", "title": "缺少正文"}, ensure_ascii=False),
        "{不是 JSON",
        json.dumps({"id": 7, "text": "第七条新闻的首行\n第二行。"}, ensure_ascii=False),
    ]
    path = write(tmp_path / "batch.jsonl", "\n".join(lines) + "\n")

    results = list(read_paths([tmp_path]))
    assert [type(r) for r in results] == [Article, ArticleError, ArticleError, ArticleError, Article]
    first, *errors, last = results
    assert [e.reason.split(":")[0] for e in errors] == ["line 2", "line 4", "line 5"]
    assert "no id" in errors[0].reason and "no text" in errors[1].reason and "JSON" in errors[2].reason
    assert all(e.path == str(path) for e in errors)

    assert (first.id, first.title, first.date, first.source) == (
        "j1", "蓝海银行新行长到任", "2024-06-01", "https://example.com/j1")
    assert first.body == good["text"]
    assert first.path == str(path)
    assert first.content_hash == hashlib.sha256(lines[0].encode()).hexdigest()
    assert (last.id, last.title) == ("7", "第七条新闻的首行")

    assert [a.id for a in read_file(path)] == ["j1", "7"]  # read_file skips bad lines


# --- encodings and bad files ------------------------------------------------------------------


def test_utf8_bom(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf" + "---\ntitle: 带签名的文件\n---\n正文。\n".encode())
    [article] = read_file(path)
    assert article.title == "带签名的文件"
    assert article.body == "正文。\n"


def test_gbk_file(tmp_path):
    raw = "---\ntitle: 国产芯片公司换帅\ndate: 2023-11-20\n---\n新任董事长张伟表示，将加大研发投入。\n"
    data = raw.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path = tmp_path / "gbk.txt"
    path.write_bytes(data)
    [article] = read_file(path)
    assert article.title == "国产芯片公司换帅"
    assert article.body == "新任董事长张伟表示，将加大研发投入。\n"
    assert article.content_hash == hashlib.sha256(data).hexdigest()
    assert decode(data) == raw


def test_binary_file_is_reported_and_the_rest_is_read(tmp_path):
    write(tmp_path / "a.md", "第一篇\n内容。\n")
    (tmp_path / "b.txt").write_bytes(bytes(range(256)))
    (tmp_path / "c.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(tmp_path / "d.txt", "第二篇\n内容。\n")

    results = list(read_paths([tmp_path]))
    assert [r.id if isinstance(r, Article) else r.reason for r in results] == [
        "a", "binary file", "binary file", "d"]
    assert results[1].path == str(tmp_path / "b.txt")
    with pytest.raises(ArticleError, match="binary file"):
        read_file(tmp_path / "b.txt")


def test_control_characters_without_nul_are_binary():
    with pytest.raises(ValueError, match="binary file"):
        decode(b"\x01\x02\x03\x04abc" * 100)


def test_undecodable_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes("正文".encode() + b"\xff\xff")
    with pytest.raises(ArticleError, match="UTF-8.*GB18030"):
        read_file(path)


def test_empty_and_missing_files(tmp_path):
    write(tmp_path / "empty.md", " \n\n")
    [empty, missing] = list(read_paths([tmp_path / "empty.md", tmp_path / "missing.md"]))
    assert empty.reason == "empty file"
    assert isinstance(missing, ArticleError) and missing.path == str(tmp_path / "missing.md")


def test_article_error_pickles():
    error = pickle.loads(pickle.dumps(ArticleError("a/b.md", "binary file")))
    assert (error.path, error.reason, str(error)) == ("a/b.md", "binary file", "a/b.md: binary file")


# --- folders ----------------------------------------------------------------------------------


def test_folders_are_expanded_recursively_sorted_and_filtered(tmp_path):
    for name in ["b.md", "a.txt", "sub/c.markdown", "sub/deep/d.MD", "skip.json", "skip.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write(tmp_path / name, f"{name} 的标题\n正文。\n")
    explicit = write(tmp_path / "notes.text", "明确指定的文件\n")
    articles = list(read_paths([str(tmp_path), explicit]))
    assert [a.id for a in articles] == ["a", "b", "c", "d", "notes"]
    assert articles[0].title == "a.txt 的标题"


# --- markup stripping and offsets -------------------------------------------------------------


def test_markdown_is_stripped_and_offsets_map_back():
    body = "\n".join([
        "![配图](https://img.example.com/a.png)",
        "# 星桥科技发布新品",
        "",
        "**星桥科技**宣布，王小明出任*首席技术官*，向[李华](https://example.com/lihua \"李华\")汇报。",
        "> 公司表示：Ｒ＆Ｄ投入增长１２％（同比）……",
        "- 要点一：~~旧方案~~新方案&amp;&lt;计划&gt;，用`代码`说明<br>第二行&nbsp;结束",
        "1. 详见 <https://example.com/x> 与 [![徽标](logo.png)](https://example.com)<!-- 注释 -->",
        "* <p>***双重***强调</p>",
        "",
    ])
    article = parse_article(f"---\ntitle: 测试\n---\n{body}", "doc")
    assert article.body == body
    assert article.text == "\n".join([
        "",
        "星桥科技发布新品",
        "",
        "星桥科技宣布,王小明出任首席技术官,向李华汇报。",
        "公司表示:R&D投入增长12%(同比)......",
        "要点一:旧方案新方案&<计划>,用代码说明第二行结束",
        "详见与",
        "双重强调",
        "",
    ])
    check_offsets(article)

    # an entity's characters point at its "&"; an expansion's characters share one offset
    amp = article.text.index("&<")
    assert body[article.offsets[amp]:].startswith("&amp;")
    assert body[article.offsets[amp + 1]:].startswith("&lt;")
    dots = article.text.index("......")
    assert {article.offsets[dots + k] for k in range(3)} == {body.index("……")}
    assert {article.offsets[dots + k] for k in range(3, 6)} == {body.index("……") + 1}

    # a span of text maps back to the span of body that holds it
    start = article.text.index("王小明")
    assert body[slice(*article.body_span(start, start + 3))] == "王小明"
    start = article.text.index("首席技术官")
    assert body[slice(*article.body_span(start, start + 5))] == "首席技术官"


def test_full_width_folding():
    body = "ＡＢＣ公司（简称“ＡＢ”）２０２４年营收１００亿元，同比增长５％；　总部位于北京。"
    article = parse_article(body, "doc")
    assert article.text == 'ABC公司(简称“AB”)2024年营收100亿元,同比增长5%;总部位于北京。'
    check_offsets(article)
    space = body.index("\u3000")  # the ideographic space before a Chinese character is dropped
    assert article.offsets[:-1] == [i for i in range(len(body)) if i != space]


def test_characters_left_alone_by_the_fast_path_are_nfkc_stable():
    from kg.articles import _FOLDABLE

    for cp in range(0x10000):
        ch = chr(cp)
        if not 0xD800 <= cp < 0xE000 and not _FOLDABLE.match(ch):
            assert unicodedata.normalize("NFKC", ch) == ch, hex(cp)
