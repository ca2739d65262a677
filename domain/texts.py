"""The one measuring, splitting and truncating path for texts sent through the Bot API.

Telegram counts its limits (4096 for a message, 1024 for a caption) in UTF-16 code
units of the *visible* text, after HTML parsing: an emoji counts 2, ``&amp;`` counts 1,
a tag 0. Every message or caption made from user-provided text is measured, split or
truncated here, never cut on the raw HTML (which can split an escape or a tag, or let an
emoji-heavy text over the limit)."""

from __future__ import annotations

import html
import re

#: Telegram's limits, in UTF-16 code units of visible text.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units) of plain text."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


#: ``units`` under a name no function here shadows with a local.
_raw_units = units


def visible_units(html_text: str) -> int:
    """The length Telegram counts for an HTML message: tags 0, an entity its character."""
    return sum(t[2] for t in _html_tokens(html_text))


def fits(html_text: str, limit: int = TEXT_LIMIT) -> bool:
    # The raw text's length bounds the visible one (a tag counts 0, an entity no more
    # than its own characters): most texts are measured without tokenising them.
    return _raw_units(html_text) <= limit or visible_units(html_text) <= limit


def truncate_html(html_text: str, limit: int = CAPTION_LIMIT) -> str:
    """``html_text`` cut to at most ``limit`` visible units, valid HTML (tags open at
    the cut are closed, escapes are never split), with ``…`` when something was cut."""
    if fits(html_text, limit):
        return html_text
    return split_text(html_text, max(1, limit - units(ELLIPSIS)))[0] + ELLIPSIS


def chunk_plain(text: str, limit: int) -> list[str]:
    """Cut plain ``text`` into pieces of at most ``limit`` UTF-16 units that join back to
    it, breaking after a line break when one falls in the second half of a piece."""
    chunks: list[str] = []
    rest = text
    while units(rest) > limit:
        cut = _prefix_within(rest, limit)
        newline = rest.rfind("\n", cut // 2, cut)
        cut = newline + 1 if newline != -1 else cut
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _prefix_within(text: str, limit: int) -> int:
    """The number of characters of ``text`` that fit in ``limit`` UTF-16 units (≥ 1)."""
    size = 0
    for index, ch in enumerate(text):
        size += 2 if ord(ch) > 0xFFFF else 1
        if size > limit:
            return max(1, index)
    return len(text)


_TOKEN = re.compile(
    r"(?P<tag><[^<>]*>)|(?P<entity>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{0,31});)",
)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)")


def _html_tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, raw, visible length) for each tag, entity and single character."""
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        tokens.extend(("char", ch, units(ch)) for ch in text[pos : match.start()])
        if match["tag"]:
            tokens.append(("tag", match[0], 0))
        else:
            tokens.append(("char", match[0], units(html.unescape(match[0]))))
        pos = match.end()
    tokens.extend(("char", ch, units(ch)) for ch in text[pos:])
    return tokens


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a long HTML message so each part fits Telegram's limit (``limit`` UTF-16
    units of *visible* text) and is valid HTML on its own.

    Cuts fall between tags and entities, never inside one; preferably at a line break
    (dropped), else after a space, in the second half of a part. Tags open at a cut are
    closed at the end of the part and opened again at the start of the next one.
    Parts that would show nothing (only whitespace) are left out."""
    if _raw_units(text) <= limit:  # the raw length bounds the visible one (``fits``)
        return [text]
    tokens = _html_tokens(text)
    if sum(t[2] for t in tokens) <= limit:
        return [text]
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # open tags: (name, raw opening tag)
    part_prefix = ""  # tags re-opened at the start of the current part
    part_tokens: list[tuple[str, str, int]] = []
    part_stacks: list[list[tuple[str, str]]] = []  # the tag stack after each token
    size = 0

    def emit(count: int, drop_break: bool) -> None:
        nonlocal part_prefix, part_tokens, part_stacks, size
        body = part_tokens[:count]
        open_after = part_stacks[count - 1] if count else _parse_stack(part_prefix)
        closing = "".join(f"</{name}>" for name, _raw in reversed(open_after))
        raw = part_prefix + "".join(t[1] for t in body) + closing
        visible = "".join(tok[1] for tok in body if tok[0] == "char")
        if html.unescape(visible).strip():
            parts.append(raw)
        rest = part_tokens[count + 1 :] if drop_break else part_tokens[count:]
        rest_stacks = part_stacks[count + 1 :] if drop_break else part_stacks[count:]
        if drop_break and count < len(part_stacks):
            open_after = part_stacks[count]
        part_prefix = "".join(raw_tag for _name, raw_tag in open_after)
        part_tokens, part_stacks = list(rest), [list(s) for s in rest_stacks]
        size = sum(t[2] for t in part_tokens)

    for token in tokens:
        kind, raw, units = token
        if kind == "tag":
            match = _TAG_NAME.match(raw)
            if match is not None:
                name = match[2].lower()
                if match[1]:
                    for index in range(len(stack) - 1, -1, -1):
                        if stack[index][0] == name:
                            del stack[index:]
                            break
                else:
                    stack.append((name, raw))
        while size + units > limit and part_tokens:
            emit(*_cut_point(part_tokens, limit))
        part_tokens.append(token)
        part_stacks.append(list(stack))
        size += units
    while part_tokens:
        emit(len(part_tokens), False)
    return parts or [text]


def _parse_stack(prefix: str) -> list[tuple[str, str]]:
    stack: list[tuple[str, str]] = []
    for raw in re.findall(r"<[^<>]*>", prefix):
        match = _TAG_NAME.match(raw)
        if match is not None and not match[1]:
            stack.append((match[2].lower(), raw))
    return stack


def _cut_point(tokens: list[tuple[str, str, int]], limit: int) -> tuple[int, bool]:
    """Where to end a full part: (number of tokens kept, whether the next one is a line
    break to drop)."""
    half = limit // 2
    size = 0
    newline = space = None
    for index, (kind, raw, units) in enumerate(tokens):
        if kind == "char" and size >= half:
            if raw == "\n":
                newline = index
            elif raw.isspace():
                space = index + 1
        size += units
    if newline is not None:
        return newline, True
    if space is not None:
        return space, False
    return len(tokens), False
