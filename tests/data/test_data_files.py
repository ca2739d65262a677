"""Schema and sanity checks for the shipped data files in domain/data/.

- default_catalogue.yaml: the default points catalogue (党员积分制管理 积分项目)
- question_bank.yaml: the starter question bank (题库)

Plain pytest, no fixtures from elsewhere.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA_DIR = Path(__file__).resolve().parents[2] / "domain" / "data"
CATALOGUE_PATH = DATA_DIR / "default_catalogue.yaml"
QUESTION_BANK_PATH = DATA_DIR / "question_bank.yaml"

LOCALES = ("zh_Hans", "zh_Hant", "en")
INDICATOR_KEYS = ("political_study", "discipline", "activities", "performance", "exemplary")
BLOCKS = ("base", "special", "extra")
BONUS_BLOCKS = ("special", "extra")
# Block maxima of the scheme (seed 001): base 80 (lost by deductions), special up to 20,
# extra up to 10. A per-quarter cap can never be larger than its block.
BLOCK_LIMIT = {"base": 80, "special": 20, "extra": 10}

KINDS = ("single", "multiple", "truefalse")
TOPICS = frozenset(
    {
        "constitution",
        "membership",
        "organisation",
        "org_life",
        "admission",
        "party_fees",
        "discipline",
        "integrity",
        "points",
    }
)
# Telegram limits are 300 (quiz question) and 100 (poll option); we keep a margin.
MAX_TEXT = 250
MAX_OPTION = 90
MAX_EXPLANATION = 200

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
QUESTION_ID = re.compile(r"^[a-z]+-[0-9]{3}$")
CJK = re.compile(r"[\u4e00-\u9fff]")

# Characters whose simplified and traditional forms differ, common in this domain.
SIMPLIFIED_ONLY = set("党员学习会议发组织纪务医疗费积极评职岗参与动关为对时经们过国门问个来说")
TRADITIONAL_ONLY = set("黨員學習會議發組織紀務醫療費積極評職崗參與動關為對時經們過國門問個來說")


@cache
def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def catalogue() -> dict[str, Any]:
    data = _load(CATALOGUE_PATH)
    assert isinstance(data, dict)
    return data


def question_bank() -> dict[str, Any]:
    data = _load(QUESTION_BANK_PATH)
    assert isinstance(data, dict)
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_half_step(value: float) -> bool:
    return float(value * 2).is_integer()


def _check_localized(obj: Any, where: str) -> None:
    assert isinstance(obj, dict), f"{where}: expected a mapping of locales"
    assert set(obj) == set(LOCALES), f"{where}: locales must be {LOCALES}, got {sorted(obj)}"
    for loc in LOCALES:
        value = obj[loc]
        assert isinstance(value, str) and value.strip(), f"{where}.{loc}: empty"
        assert value == value.strip(), f"{where}.{loc}: leading/trailing whitespace"
    hans, hant, en = obj["zh_Hans"], obj["zh_Hant"], obj["en"]
    assert CJK.search(hans), f"{where}.zh_Hans: no Chinese text"
    assert CJK.search(hant), f"{where}.zh_Hant: no Chinese text"
    assert not CJK.search(en), f"{where}.en: contains Chinese characters"
    bad_hant = SIMPLIFIED_ONLY & set(hant)
    assert not bad_hant, f"{where}.zh_Hant: simplified characters {sorted(bad_hant)}"
    bad_hans = TRADITIONAL_ONLY & set(hans)
    assert not bad_hans, f"{where}.zh_Hans: traditional characters {sorted(bad_hans)}"


# ---------------------------------------------------------------------------
# default_catalogue.yaml
# ---------------------------------------------------------------------------

ITEM_REQUIRED = {"key", "indicator", "block", "points", "evidence", "name", "description"}
ITEM_OPTIONAL = {"cap_per_quarter"}


def test_catalogue_top_level() -> None:
    data = catalogue()
    assert set(data) == {"version", "indicators", "items"}
    assert data["version"] == 1
    assert isinstance(data["indicators"], list)
    assert isinstance(data["items"], list)


def test_catalogue_indicators() -> None:
    indicators = catalogue()["indicators"]
    keys = [ind["key"] for ind in indicators]
    assert keys == list(INDICATOR_KEYS)
    for ind in indicators:
        assert set(ind) == {"key", "name"}, ind
        _check_localized(ind["name"], f"indicator {ind['key']}.name")


def test_catalogue_item_count() -> None:
    assert 30 <= len(catalogue()["items"]) <= 60


def test_catalogue_item_keys_unique_and_snake_case() -> None:
    keys = [item["key"] for item in catalogue()["items"]]
    duplicates = [k for k, n in Counter(keys).items() if n > 1]
    assert not duplicates, f"duplicate item keys: {duplicates}"
    for key in keys:
        assert isinstance(key, str) and SNAKE.match(key), f"bad item key {key!r}"


def test_catalogue_item_fields() -> None:
    for item in catalogue()["items"]:
        fields = set(item)
        missing = ITEM_REQUIRED - fields
        extra = fields - ITEM_REQUIRED - ITEM_OPTIONAL
        assert not missing, f"{item.get('key')}: missing {sorted(missing)}"
        assert not extra, f"{item.get('key')}: unknown fields {sorted(extra)}"
        assert isinstance(item["evidence"], bool), f"{item['key']}: evidence must be a bool"


def test_catalogue_item_indicator_exists() -> None:
    known = {ind["key"] for ind in catalogue()["indicators"]}
    for item in catalogue()["items"]:
        assert item["indicator"] in known, f"{item['key']}: unknown indicator {item['indicator']!r}"


def test_catalogue_block_and_sign() -> None:
    for item in catalogue()["items"]:
        key, block, points = item["key"], item["block"], item["points"]
        assert block in BLOCKS, f"{key}: unknown block {block!r}"
        assert _is_number(points), f"{key}: points must be a number"
        assert points != 0, f"{key}: zero points"
        assert _is_half_step(points), f"{key}: points must be a multiple of 0.5"
        if block == "base":
            assert points < 0, f"{key}: base (deduction) items must be negative"
        else:
            assert points > 0, f"{key}: {block} items must be positive"
        assert abs(points) <= BLOCK_LIMIT[block], f"{key}: points larger than the block"


def test_catalogue_caps() -> None:
    for item in catalogue()["items"]:
        if "cap_per_quarter" not in item:
            continue
        key, cap = item["key"], item["cap_per_quarter"]
        assert _is_number(cap) and cap > 0, f"{key}: cap must be a positive number"
        assert _is_half_step(cap), f"{key}: cap must be a multiple of 0.5"
        assert cap >= abs(item["points"]), f"{key}: cap smaller than one claim"
        assert cap <= BLOCK_LIMIT[item["block"]], f"{key}: cap larger than its block"


def test_catalogue_item_locales() -> None:
    for item in catalogue()["items"]:
        _check_localized(item["name"], f"{item['key']}.name")
        _check_localized(item["description"], f"{item['key']}.description")


def test_catalogue_traditional_differs_from_simplified() -> None:
    texts = [ind["name"] for ind in catalogue()["indicators"]]
    for item in catalogue()["items"]:
        texts += [item["name"], item["description"]]
    same = [t["zh_Hans"] for t in texts if t["zh_Hans"] == t["zh_Hant"]]
    # Nearly every string has at least one character that differs between the scripts.
    assert len(same) <= len(texts) // 10, f"zh_Hant identical to zh_Hans: {same}"
    for item in catalogue()["items"]:
        assert item["description"]["zh_Hans"] != item["description"]["zh_Hant"], item["key"]


def test_catalogue_names_unique_per_locale() -> None:
    for loc in LOCALES:
        names = [item["name"][loc] for item in catalogue()["items"]]
        duplicates = [n for n, c in Counter(names).items() if c > 1]
        assert not duplicates, f"duplicate {loc} names: {duplicates}"


@pytest.mark.parametrize("indicator", INDICATOR_KEYS)
def test_catalogue_indicator_has_deduction_and_bonus(indicator: str) -> None:
    items = [i for i in catalogue()["items"] if i["indicator"] == indicator]
    assert any(i["block"] == "base" for i in items), f"{indicator}: no deduction item"
    assert any(i["block"] in BONUS_BLOCKS for i in items), f"{indicator}: no bonus item"


def test_catalogue_has_every_block() -> None:
    blocks = Counter(item["block"] for item in catalogue()["items"])
    for block in BLOCKS:
        assert blocks[block] >= 1, f"no {block} item"


# ---------------------------------------------------------------------------
# question_bank.yaml
# ---------------------------------------------------------------------------

QUESTION_REQUIRED = {"id", "kind", "text", "answer", "explanation", "topics", "source"}
QUESTION_OPTIONAL = {"options", "ref"}


def questions() -> list[dict[str, Any]]:
    qs = question_bank()["questions"]
    assert isinstance(qs, list)
    return qs


def test_bank_top_level() -> None:
    data = question_bank()
    assert set(data) == {"version", "sources", "questions"}
    assert data["version"] == 1


def test_bank_sources() -> None:
    sources = question_bank()["sources"]
    assert isinstance(sources, list) and sources
    keys = [s["key"] for s in sources]
    assert len(keys) == len(set(keys)), "duplicate source keys"
    for src in sources:
        assert set(src) == {"key", "title"}, src
        assert SNAKE.match(src["key"]), f"bad source key {src['key']!r}"
        assert isinstance(src["title"], str) and src["title"].strip()


def test_bank_every_source_is_used() -> None:
    used = {q["source"] for q in questions()}
    declared = {s["key"] for s in question_bank()["sources"]}
    assert declared <= used, f"unused sources: {sorted(declared - used)}"


def test_bank_size() -> None:
    assert len(questions()) >= 110


def test_bank_ids_unique_and_well_formed() -> None:
    ids = [q["id"] for q in questions()]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"
    for qid in ids:
        assert isinstance(qid, str) and QUESTION_ID.match(qid), f"bad id {qid!r}"


def test_bank_question_fields() -> None:
    for q in questions():
        fields = set(q)
        missing = QUESTION_REQUIRED - fields
        extra = fields - QUESTION_REQUIRED - QUESTION_OPTIONAL
        assert not missing, f"{q.get('id')}: missing {sorted(missing)}"
        assert not extra, f"{q.get('id')}: unknown fields {sorted(extra)}"


def test_bank_texts_and_lengths() -> None:
    for q in questions():
        qid = q["id"]
        for field, limit in (("text", MAX_TEXT), ("explanation", MAX_EXPLANATION)):
            value = q[field]
            assert isinstance(value, str) and value.strip(), f"{qid}: empty {field}"
            assert len(value) <= limit, f"{qid}: {field} has {len(value)} > {limit} characters"
            assert CJK.search(value), f"{qid}: {field} is not Chinese"
            bad = TRADITIONAL_ONLY & set(value)
            assert not bad, f"{qid}: {field} has traditional characters {sorted(bad)}"
        if "ref" in q:
            assert isinstance(q["ref"], str) and q["ref"].strip(), f"{qid}: empty ref"


def test_bank_question_texts_unique() -> None:
    texts = [q["text"] for q in questions()]
    duplicates = [t for t, n in Counter(texts).items() if n > 1]
    assert not duplicates, f"duplicate question texts: {duplicates}"


def test_bank_kinds_and_answers() -> None:
    for q in questions():
        qid, kind, answer = q["id"], q["kind"], q["answer"]
        assert kind in KINDS, f"{qid}: unknown kind {kind!r}"
        if kind == "truefalse":
            assert "options" not in q, f"{qid}: truefalse takes no options"
            assert isinstance(answer, bool), f"{qid}: truefalse answer must be true/false"
            continue
        options = q.get("options")
        assert isinstance(options, list), f"{qid}: {kind} needs options"
        assert 2 <= len(options) <= 6, f"{qid}: {len(options)} options"
        for opt in options:
            assert isinstance(opt, str) and opt.strip(), f"{qid}: option {opt!r} is not text"
            assert len(opt) <= MAX_OPTION, f"{qid}: option {opt!r} too long"
            bad = TRADITIONAL_ONLY & set(opt)
            assert not bad, f"{qid}: option {opt!r} has traditional characters"
        assert len(set(options)) == len(options), f"{qid}: duplicate options"
        assert isinstance(answer, list) and answer, f"{qid}: answer must be a list of indices"
        for idx in answer:
            assert isinstance(idx, int) and not isinstance(idx, bool), f"{qid}: bad index {idx!r}"
            assert 0 <= idx < len(options), f"{qid}: index {idx} out of range"
        assert answer == sorted(set(answer)), f"{qid}: indices must be sorted and unique"
        if kind == "single":
            assert len(answer) == 1, f"{qid}: single needs exactly one answer"
        else:
            assert len(answer) >= 2, f"{qid}: multiple needs two or more answers"
            assert len(answer) < len(options), f"{qid}: every option correct is not a question"


def test_bank_topics() -> None:
    used: set[str] = set()
    for q in questions():
        topics = q["topics"]
        assert isinstance(topics, list) and topics, f"{q['id']}: no topics"
        assert len(set(topics)) == len(topics), f"{q['id']}: duplicate topics"
        unknown = set(topics) - TOPICS
        assert not unknown, f"{q['id']}: unknown topics {sorted(unknown)}"
        used |= set(topics)
    assert used == TOPICS, f"topics never used: {sorted(TOPICS - used)}"


def test_bank_source_keys_exist() -> None:
    declared = {s["key"] for s in question_bank()["sources"]}
    for q in questions():
        assert q["source"] in declared, f"{q['id']}: unknown source {q['source']!r}"


def test_bank_kind_mix() -> None:
    counts = Counter(q["kind"] for q in questions())
    total = sum(counts.values())
    # Roughly 60% single, 20% multiple, 20% true/false.
    assert 0.5 <= counts["single"] / total <= 0.7, counts
    assert counts["multiple"] / total >= 0.15, counts
    assert counts["truefalse"] / total >= 0.15, counts


@pytest.mark.parametrize(
    "topic",
    sorted(TOPICS),
)
def test_bank_each_topic_has_enough_questions(topic: str) -> None:
    n = sum(1 for q in questions() if topic in q["topics"])
    assert n >= 8, f"only {n} questions on {topic}"
