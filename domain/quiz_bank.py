"""Reading question banks (题库) from YAML, CSV or XLSX, validated row by row.

YAML: the format of ``domain/data/question_bank.yaml`` (a ``questions`` list, or a bare
list) with ``kind``, ``text``, ``options``, ``answer`` (0-based indices, letters such as
``"AC"``, or ``true``/``false``), ``explanation``, ``topics``, ``source`` and optional
``id``/``ref``.

CSV/XLSX: a header row with ``kind,text,option_a..option_f,answer,explanation,topics,
source`` (Chinese headers such as 题型、题目、选项A、答案、解析 are accepted). Answers are
letters (``B``, ``AC``, ``A,C``) or, for true/false, ``对``/``错``/``true``/``false``.

Every error carries the file's line number and a gettext msgid; a file with any bad row
imports nothing.
"""

# i18n-domain: quiz

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from domain.errors import FileRejected, RowError
from domain.tables import read_rows
from locales.i18n import N_

STARTER_BANK_PATH = Path(__file__).resolve().parent / "data" / "question_bank.yaml"

MAX_TEXT = 300  # Telegram's limit for a quiz poll question
MAX_OPTION = 100  # and for a poll option
MAX_EXPLANATION = 1000
MAX_TOPIC = 32
MAX_TOPICS = 10
MAX_SOURCE = 200
MAX_REF = 100
MAX_OPTIONS = 6
MAX_ROWS = 5000
MAX_FILE_BYTES = 2 * 1024 * 1024
LETTERS = "ABCDEF"


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUEFALSE = "truefalse"

    @property
    def label(self) -> str:
        """Untranslated (msgid) label."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    QuestionKind.SINGLE: N_("single choice"),
    QuestionKind.MULTIPLE: N_("multiple choice"),
    QuestionKind.TRUEFALSE: N_("true or false"),
}

KIND_ALIASES: dict[str, QuestionKind] = {
    "single": QuestionKind.SINGLE,
    "s": QuestionKind.SINGLE,
    "单选": QuestionKind.SINGLE,
    "单选题": QuestionKind.SINGLE,
    "單選": QuestionKind.SINGLE,
    "單選題": QuestionKind.SINGLE,
    "multiple": QuestionKind.MULTIPLE,
    "multi": QuestionKind.MULTIPLE,
    "m": QuestionKind.MULTIPLE,
    "多选": QuestionKind.MULTIPLE,
    "多选题": QuestionKind.MULTIPLE,
    "多選": QuestionKind.MULTIPLE,
    "多選題": QuestionKind.MULTIPLE,
    "truefalse": QuestionKind.TRUEFALSE,
    "true_false": QuestionKind.TRUEFALSE,
    "tf": QuestionKind.TRUEFALSE,
    "判断": QuestionKind.TRUEFALSE,
    "判断题": QuestionKind.TRUEFALSE,
    "判斷": QuestionKind.TRUEFALSE,
    "判斷題": QuestionKind.TRUEFALSE,
}

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "对", "對", "正确", "正確", "是", "√", "✓", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "错", "錯", "错误", "錯誤", "否", "×", "✗", "0"})

#: True/false questions are answered by option index: 0 = true (对), 1 = false (错).
TRUE_INDEX, FALSE_INDEX = 0, 1


class BankError(FileRejected):
    """The question file cannot be imported; ``errors`` lists every bad row."""

    what = "question bank"


@dataclass(frozen=True)
class ParsedQuestion:
    line: int
    kind: QuestionKind
    text: str
    options: tuple[str, ...]
    answer: tuple[int, ...]
    explanation: str
    topics: tuple[str, ...] = ()
    source: str | None = None
    ref: str | None = None
    ext_id: str | None = None

    @property
    def text_key(self) -> str:
        return text_key(self.text)


def text_key(text: str) -> str:
    """Identity of a question inside one bank: its text with whitespace collapsed."""
    normal = re.sub(r"\s+", " ", text.strip())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def answer_letters(kind: QuestionKind | str, answer: Iterable[int]) -> str:
    """``[0, 2]`` → ``"AC"``; true/false answers → ``"true"``/``"false"`` (caller labels)."""
    if QuestionKind(kind) is QuestionKind.TRUEFALSE:
        return "true" if list(answer) == [TRUE_INDEX] else "false"
    return "".join(LETTERS[i] for i in sorted(answer))


# -- answers -------------------------------------------------------------------------


def parse_answer(kind: QuestionKind, raw: Any, option_count: int) -> tuple[int, ...]:
    """The answer as sorted option indices; ``ValueError(msgid)`` when it does not fit.

    Accepts letters (``"B"``, ``"AC"``, ``"A,C"``, ``"a c"``), lists of 0-based indices
    or letters (YAML), and true/false words for true/false questions."""
    if kind is QuestionKind.TRUEFALSE:
        if isinstance(raw, bool):
            return (TRUE_INDEX,) if raw else (FALSE_INDEX,)
        word = str(raw).strip().lower() if raw is not None else ""
        if word in TRUE_WORDS:
            return (TRUE_INDEX,)
        if word in FALSE_WORDS:
            return (FALSE_INDEX,)
        raise ValueError(N_("Line {line}: a true/false answer must be 对/错 or true/false."))
    indices: list[int] = []
    if isinstance(raw, list | tuple):
        for value in raw:
            if isinstance(value, int) and not isinstance(value, bool):
                indices.append(value)
            elif isinstance(value, str) and len(value.strip()) == 1:
                indices.extend(_letters(value))
            else:
                raise ValueError(N_("Line {line}: the answer “{value}” is not option letters."))
    elif isinstance(raw, int) and not isinstance(raw, bool):
        indices.append(raw)
    elif isinstance(raw, str):
        indices = _letters(raw)
    else:
        raise ValueError(N_("Line {line}: the answer is missing."))
    if not indices:
        raise ValueError(N_("Line {line}: the answer is missing."))
    if any(not 0 <= i < option_count for i in indices):
        raise ValueError(N_("Line {line}: the answer “{value}” names an option that is empty."))
    if len(set(indices)) != len(indices):
        raise ValueError(N_("Line {line}: the answer “{value}” repeats an option."))
    result = tuple(sorted(indices))
    if kind is QuestionKind.SINGLE and len(result) != 1:
        raise ValueError(N_("Line {line}: a single-choice question has exactly one answer."))
    if kind is QuestionKind.MULTIPLE and len(result) < 2:
        raise ValueError(N_("Line {line}: a multiple-choice question has two or more answers."))
    return result


def _letters(text: str) -> list[int]:
    cleaned = re.sub(r"[\s,，、;；/]+", "", text.strip().upper())
    cleaned = cleaned.translate(str.maketrans("ＡＢＣＤＥＦ", "ABCDEF"))
    if not cleaned or any(c not in LETTERS for c in cleaned):
        raise ValueError(N_("Line {line}: the answer “{value}” is not option letters."))
    return [LETTERS.index(c) for c in cleaned]


def parse_topics(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list | tuple) else re.split(r"[,，、;；|\s]+", str(raw))
    topics: list[str] = []
    for item in items:
        topic = str(item).strip()
        if topic and topic not in topics:
            topics.append(topic)
    return tuple(topics)


# -- one question ----------------------------------------------------------------------


def build_question(
    line: int, values: dict[str, Any]
) -> tuple[ParsedQuestion | None, list[RowError]]:
    """Validate one question's fields (already taken from a row or a YAML mapping)."""
    errors: list[RowError] = []

    def err(msgid: str, **params: Any) -> None:
        errors.append(RowError(line, msgid, params))

    kind_text = _text(values.get("kind"))
    kind = KIND_ALIASES.get(kind_text.lower()) or KIND_ALIASES.get(kind_text)
    if kind is None:
        err(
            N_("Line {line}: unknown kind “{value}” (use single, multiple or truefalse)."),
            value=kind_text,
        )
    text = _text(values.get("text"))
    if not text:
        err(N_("Line {line}: the question text is empty."))
    elif len(text) > MAX_TEXT:
        err(N_("Line {line}: the question text is longer than {max} characters."), max=MAX_TEXT)
    raw_options = values.get("options") or []
    options = [_text(o) for o in raw_options]
    while options and not options[-1]:
        options.pop()
    if kind is QuestionKind.TRUEFALSE:
        if options:
            err(N_("Line {line}: a true/false question takes no options."))
    elif kind is not None:
        if "" in options:
            err(N_("Line {line}: option {letter} is empty."), letter=LETTERS[options.index("")])
        elif not 2 <= len(options) <= MAX_OPTIONS:
            err(N_("Line {line}: a choice question needs 2 to 6 options."))
        elif len(set(options)) != len(options):
            err(N_("Line {line}: two options have the same text."))
        for index, option in enumerate(options[:MAX_OPTIONS]):
            if len(option) > MAX_OPTION:
                err(
                    N_("Line {line}: option {letter} is longer than {max} characters."),
                    letter=LETTERS[index],
                    max=MAX_OPTION,
                )
    answer: tuple[int, ...] = ()
    if kind is not None:
        raw_answer = values.get("answer")
        try:
            answer = parse_answer(kind, raw_answer, len(options))
        except ValueError as exc:
            err(str(exc.args[0]), value=_text(raw_answer))
        if kind is QuestionKind.MULTIPLE and answer and len(answer) == len(options):
            err(N_("Line {line}: every option is correct; that is not a question."))
    explanation = _text(values.get("explanation"))
    if len(explanation) > MAX_EXPLANATION:
        err(
            N_("Line {line}: the explanation is longer than {max} characters."),
            max=MAX_EXPLANATION,
        )
    topics = parse_topics(values.get("topics"))
    if len(topics) > MAX_TOPICS or any(len(t) > MAX_TOPIC for t in topics):
        err(N_("Line {line}: too many or too long topics."))
    source = _text(values.get("source")) or None
    if source is not None and len(source) > MAX_SOURCE:
        err(N_("Line {line}: the source is longer than {max} characters."), max=MAX_SOURCE)
    ref = _text(values.get("ref")) or None
    if ref is not None and len(ref) > MAX_REF:
        ref = ref[:MAX_REF]
    ext_id = _text(values.get("id")) or None
    if ext_id is not None and len(ext_id) > 32:
        err(N_("Line {line}: the id is longer than {max} characters."), max=32)
    if errors or kind is None:
        return None, errors
    return (
        ParsedQuestion(
            line=line,
            kind=kind,
            text=text,
            options=tuple(options) if kind is not QuestionKind.TRUEFALSE else (),
            answer=answer,
            explanation=explanation,
            topics=topics,
            source=source,
            ref=ref,
            ext_id=ext_id,
        ),
        [],
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_duplicates(questions: list[ParsedQuestion], errors: list[RowError]) -> None:
    seen: dict[str, int] = {}
    for q in questions:
        key = q.text_key
        if key in seen:
            errors.append(
                RowError(
                    q.line,
                    N_("Line {line}: the same question text is already on line {other}."),
                    {"other": seen[key]},
                )
            )
        seen.setdefault(key, q.line)


# -- files -----------------------------------------------------------------------------

_HEADER_ALIASES: dict[str, str] = {
    "kind": "kind",
    "type": "kind",
    "题型": "kind",
    "題型": "kind",
    "类型": "kind",
    "text": "text",
    "question": "text",
    "题目": "text",
    "題目": "text",
    "题干": "text",
    "問題": "text",
    "问题": "text",
    "answer": "answer",
    "答案": "answer",
    "正确答案": "answer",
    "explanation": "explanation",
    "解析": "explanation",
    "说明": "explanation",
    "topics": "topics",
    "tags": "topics",
    "标签": "topics",
    "知识点": "topics",
    "source": "source",
    "来源": "source",
    "出处": "source",
    "依据": "source",
    "ref": "ref",
    "条款": "ref",
    "id": "id",
}
for _i, _letter in enumerate(LETTERS):
    for _alias in (f"option_{_letter.lower()}", f"option{_letter.lower()}", _letter.lower()):
        _HEADER_ALIASES[_alias] = f"option_{_i}"
    for _alias in (f"选项{_letter.lower()}", f"選項{_letter.lower()}"):
        _HEADER_ALIASES[_alias] = f"option_{_i}"


def _norm_header(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def parse_bank(data: bytes, filename: str) -> list[ParsedQuestion]:
    """Parse and validate a whole question file; raise BankError listing every bad row."""
    if len(data) > MAX_FILE_BYTES:
        raise BankError(
            [RowError(0, N_("The file is larger than {max} MB."), {"max": MAX_FILE_BYTES >> 20})]
        )
    suffix = Path(filename).suffix.lower()
    if suffix in {".yaml", ".yml"}:
        questions, errors = _parse_yaml(data)
    elif suffix in {".csv", ".txt", ".xlsx", ".xlsm"}:
        questions, errors = _parse_table(read_rows(data, suffix, BankError))
    else:
        raise BankError([RowError(0, N_("Only YAML, CSV and XLSX question files are accepted."))])
    if not errors and not questions:
        errors.append(RowError(0, N_("The file has no questions.")))
    _check_duplicates(questions, errors)
    if errors:
        raise BankError(sorted(errors, key=lambda e: e.line))
    return questions


def _parse_table(
    table: list[tuple[int, list[str]]],
) -> tuple[list[ParsedQuestion], list[RowError]]:
    table = [(line, cells) for line, cells in table if any(cells)]
    if not table:
        return [], [RowError(0, N_("The file has no questions."))]
    header_line, header = table[0]
    columns = [_HEADER_ALIASES.get(_norm_header(c)) if c else None for c in header]
    missing = [c for c in ("kind", "text", "answer") if c not in columns]
    if missing:
        return [], [
            RowError(
                header_line,
                N_("Line {line}: the header needs the columns {columns}; missing: {missing}."),
                {
                    "columns": "kind,text,option_a…option_f,answer,explanation,topics,source",
                    "missing": ",".join(missing),
                },
            )
        ]
    if len(table) - 1 > MAX_ROWS:
        return [], [RowError(0, N_("Too many rows (at most {max})."), {"max": MAX_ROWS})]
    questions: list[ParsedQuestion] = []
    errors: list[RowError] = []
    for line, cells in table[1:]:
        values: dict[str, Any] = {}
        options = [""] * MAX_OPTIONS
        for key, cell in zip(columns, cells, strict=False):
            if key is None:
                continue
            if key.startswith("option_"):
                options[int(key.removeprefix("option_"))] = cell
            else:
                values[key] = cell
        values["options"] = options
        question, row_errors = build_question(line, values)
        errors.extend(row_errors)
        if question is not None:
            questions.append(question)
    return questions, errors


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of each mapping (``__line__``)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(data: bytes) -> tuple[list[ParsedQuestion], list[RowError]]:
    try:
        doc = yaml.load(data.decode("utf-8-sig"), Loader=_LineLoader)  # a SafeLoader subclass
    except UnicodeDecodeError:
        return [], [RowError(0, N_("The file is not UTF-8 or GB18030 text."))]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return [], [RowError(line, N_("Line {line}: this is not valid YAML."))]
    items = doc.get("questions") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        return [], [RowError(0, N_("The YAML file needs a list named questions."))]
    if len(items) > MAX_ROWS:
        return [], [RowError(0, N_("Too many rows (at most {max})."), {"max": MAX_ROWS})]
    questions: list[ParsedQuestion] = []
    errors: list[RowError] = []
    for item in items:
        if not isinstance(item, dict):
            errors.append(RowError(0, N_("Each question must be a mapping with kind, text …")))
            continue
        line = int(item.get("__line__", 0))
        values = dict(item)
        if values.get("options") is not None and not isinstance(values["options"], list):
            errors.append(RowError(line, N_("Line {line}: options must be a list.")))
            continue
        question, row_errors = build_question(line, values)
        errors.extend(row_errors)
        if question is not None:
            questions.append(question)
    return questions, errors


@cache
def starter_bank() -> tuple[tuple[ParsedQuestion, ...], dict[str, str]]:
    """The shipped starter bank (questions, and source key → title), parsed once."""
    data = STARTER_BANK_PATH.read_bytes()
    questions = parse_bank(data, STARTER_BANK_PATH.name)
    doc = yaml.safe_load(data)
    sources = {str(s["key"]): str(s["title"]) for s in doc.get("sources", [])}
    return tuple(questions), sources
