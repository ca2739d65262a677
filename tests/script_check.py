"""Is a message in its recipient's language? A script checker for the i18n tests.

* ``en``: no Chinese character and no full-width Chinese punctuation, except proper
  names the caller allows explicitly (people's and the branch's names: data, not
  translation).
* ``zh_Hans``: no character that exists only in traditional script (OpenCC's ``t2s``
  changes it and ``s2t`` keeps it, e.g. 積 體 後), and no untranslated English.
* ``zh_Hant``: no character that exists only in simplified script (``s2tw`` changes it
  and ``t2s`` keeps it, e.g. 积 体), no simplified usage of a shared character (后 for
  "after": 天后 → 天後), and no untranslated English.

English words allowed in Chinese text are the few the Chinese texts use on purpose
(:data:`LATIN_ALLOWED`); commands (``/points``), HTML tags and the allowed names are
removed before checking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import opencc

from locales.i18n import EN, ZH_HANS, ZH_HANT

#: Latin words a Chinese message may contain (names of things, formats, placeholders
#: the user types).
LATIN_ALLOWED: frozenset[str] = frozenset(
    {"Telegram", "XLSX", "PDF", "Word", "English", "YYYY", "MM", "DD", "ID", "HTML"}
)
#: Han ideographs (BMP blocks, compatibility, extensions) and CJK punctuation.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
#: Full-width punctuation (“ ” are English quotes too, so not counted).
_CJK_PUNCT = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]")
#: 后 is a traditional character too (皇后), but "after" is 後 in traditional script.
_HANT_AFTER = re.compile(r"[天年月日週周之以然最此其今過过隨随稍而午]后|后[來来續续天期]")
_TAG = re.compile(r"<[^<>]*>")
_CODE = re.compile(r"<code>.*?</code>", re.DOTALL)  # what the user would type
_COMMAND = re.compile(r"/[a-z_]+")
#: A Latin word; all-capital abbreviations (CSV, MB, ZIP) are allowed in Chinese.
_LATIN_WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def _changed(text: str, config: str, back: str) -> list[str]:
    """Characters of ``text`` that the whole-text conversion ``config`` (with OpenCC's
    phrase tables: 批准 and 考核 stay, 积分 → 積分) changes and that ``back`` keeps (so a
    variant such as 爲 or 覈, which both directions change, is not counted)."""
    converted = _converter(config).convert(text)
    if len(converted) != len(text):  # not position-preserving: compare characters
        pairs = [(ch, _converter(config).convert(ch)) for ch in text]
    else:
        pairs = list(zip(text, converted, strict=True))
    return [
        ch
        for ch, out in pairs
        if out != ch and _HAN.match(ch) and _converter(back).convert(ch) == ch
    ]


def _strip(text: str, allowed: Iterable[str]) -> str:
    text = _TAG.sub(" ", _CODE.sub(" ", text))
    for name in sorted(allowed, key=len, reverse=True):
        if name:
            text = text.replace(name, " ")
    return _PLACEHOLDER.sub(" ", _COMMAND.sub(" ", text))


def script_problems(text: str, locale: str, allowed: Iterable[str] = ()) -> list[str]:
    """What in ``text`` is not in ``locale`` (an empty list: nothing)."""
    plain = _strip(text, allowed)
    problems: list[str] = []
    if locale == EN:
        problems += [f"Chinese {m.group()!r}" for m in _HAN.finditer(plain)]
        problems += [f"Chinese punctuation {m.group()!r}" for m in _CJK_PUNCT.finditer(plain)]
        return problems
    if locale not in (ZH_HANS, ZH_HANT):
        raise ValueError(f"unknown locale {locale}")
    for word in _LATIN_WORD.findall(plain):
        if word not in LATIN_ALLOWED:
            problems.append(f"English {word!r}")
    if locale == ZH_HANS:
        problems += [f"traditional {ch!r}" for ch in dict.fromkeys(_changed(plain, "t2s", "s2t"))]
    else:
        problems += [f"simplified {ch!r}" for ch in dict.fromkeys(_changed(plain, "s2tw", "t2s"))]
        problems += [f"simplified usage {m.group()!r}" for m in _HANT_AFTER.finditer(plain)]
    return problems


def assert_script(text: str, locale: str, allowed: Iterable[str] = (), where: str = "") -> None:
    problems = script_problems(text, locale, allowed)
    assert not problems, f"{where}: not {locale}: {problems} in {text!r}"
