"""Telegram ``parse_mode=HTML`` parser/validator.

A close port of the algorithm Telegram uses (tdlib ``parse_html``): the same set of tags, the
same error messages (with UTF-8 byte offsets) and entity offsets/lengths in UTF-16 code units.

One deliberate difference, on by default (``strict_entities=True``): a bare ``&`` that does not
start ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;`` or a numeric reference is rejected.  Telegram
shows it literally, but the Bot API docs require it to be escaped, and an unescaped ``&`` in
user-supplied text is a real rendering bug (``&lt`` would be shown as ``<``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["HTMLParseError", "parse_html", "utf16_len"]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


class HTMLParseError(ValueError):
    """Raised with the tdlib-style description (without the "can't parse entities: " prefix)."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram uses for lengths/offsets."""
    return len(text.encode("utf-16-le")) // 2


def _is_space(ch: str) -> bool:
    return ch in " \t\r\n\f\v"


class _Cursor:
    """Helper mapping string indices to UTF-8 byte offsets (lazily, for error messages)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8"))

    def at(self, index: int) -> str:
        """Character at ``index`` or "" past the end (tdlib reads a terminating NUL there)."""
        return self.text[index] if index < len(self.text) else ""


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode an HTML entity starting at ``text[pos] == '&'``; returns (char, new_pos)."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        value = 0
        if end < n and text[end] == "x":
            end += 1
            start = end
            while end < n and text[end] in "0123456789abcdefABCDEF":
                end += 1
            if end > start:
                value = int(text[start:end], 16)
        else:
            start = end
            while end < n and text[end].isascii() and text[end].isdigit():
                end += 1
            if end > start:
                value = int(text[start:end])
        if value == 0 or value >= 0x10FFFF or end - pos >= 10 or 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        start = end
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[start:end]
        if name not in _NAMED_ENTITIES:
            return None
        char = _NAMED_ENTITIES[name]
    if end < n and text[end] == ";":
        end += 1
    return char, end


class _Open:
    __slots__ = ("argument", "tag", "text_len", "utf16_offset")

    def __init__(self, tag: str, argument: str, utf16_offset: int, text_len: int) -> None:
        self.tag = tag
        self.argument = argument
        self.utf16_offset = utf16_offset
        self.text_len = text_len


def _link_entity(url: str, offset: int, length: int) -> dict[str, Any] | None:
    lowered = url.lower()
    prefix = "tg://user?id="
    if lowered.startswith(prefix) and url[len(prefix) :].isdigit():
        user = {"id": int(url[len(prefix) :]), "is_bot": False, "first_name": "User"}
        return {"type": "text_mention", "offset": offset, "length": length, "user": user}
    if lowered.startswith(("http://", "https://", "tg://", "ton://")):
        return {"type": "text_link", "offset": offset, "length": length, "url": url}
    if "://" not in url and "." in url and " " not in url:
        return {"type": "text_link", "offset": offset, "length": length, "url": "http://" + url}
    # tdlib silently drops links it considers invalid
    return None


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML; return (plain text, entities). Raises :class:`HTMLParseError`."""
    cur = _Cursor(text)
    n = len(text)
    out: list[str] = []
    out_len = 0  # utf16 length of out
    nested: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                ch, i = decoded
                out.append(ch)
                out_len += utf16_len(ch)
                continue
            if strict_entities:
                raise HTMLParseError(
                    f"Unsupported HTML entity at byte offset {cur.byte_offset(i)}: "
                    "a bare '&' must be escaped as &amp; (emulator strict mode)"
                )
        if c != "<":
            out.append(c)
            out_len += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if cur.at(i) != "/":
            # start tag
            while i < n and not _is_space(text[i]) and text[i] != ">":
                i += 1
            if i >= n:
                raise HTMLParseError(f"Unclosed start tag at byte offset {cur.byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in ALLOWED_TAGS:
                raise HTMLParseError(
                    f'Unsupported start tag "{tag}" at byte offset {cur.byte_offset(begin)}'
                )
            argument = ""
            has_class = False
            while cur.at(i) != ">":
                while i < n and _is_space(text[i]):
                    i += 1
                if cur.at(i) == ">":
                    break
                attr_begin = i
                while i < n and not _is_space(text[i]) and text[i] not in "=>":
                    i += 1
                attr_name = text[attr_begin:i]
                if not attr_name:
                    raise HTMLParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{cur.byte_offset(begin)}"
                    )
                while i < n and _is_space(text[i]):
                    i += 1
                if cur.at(i) != "=":
                    if tag == "blockquote" and attr_name.lower() == "expandable":
                        argument = "expandable"
                        continue
                    if i >= n:
                        raise HTMLParseError(
                            f"Unclosed start tag at byte offset {cur.byte_offset(begin)}"
                        )
                    raise HTMLParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {cur.byte_offset(begin)}'
                    )
                i += 1
                while i < n and _is_space(text[i]):
                    i += 1
                if i >= n:
                    raise HTMLParseError(
                        f"Unclosed start tag at byte offset {cur.byte_offset(begin)}"
                    )
                value_chars: list[str] = []
                if text[i] not in "'\"":
                    token_begin = i
                    while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if i < n and not _is_space(text[i]) and text[i] != ">":
                        raise HTMLParseError(
                            "Unexpected end of name token at byte offset "
                            f"{cur.byte_offset(token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                            if strict_entities:
                                raise HTMLParseError(
                                    f"Unsupported HTML entity at byte offset {cur.byte_offset(i)}: "
                                    "a bare '&' must be escaped as &amp; (emulator strict mode)"
                                )
                        value_chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise HTMLParseError(
                        f"Unclosed start tag at byte offset {cur.byte_offset(begin)}"
                    )
                name = attr_name.lower()
                if (tag == "a" and name == "href") or (tag == "tg-emoji" and name == "emoji-id"):
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and name == "class":
                    has_class = True
                    argument = value[3:] if value.startswith("tg-") else ""
            if tag == "span" and (not has_class or argument != "spoiler"):
                raise HTMLParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{cur.byte_offset(begin)}"
                )
            if tag == "tg-emoji" and not argument.isdigit():
                raise HTMLParseError("Invalid custom emoji identifier specified")
            nested.append(_Open(tag, argument, out_len, len(out)))
            i += 1  # skip '>'
        else:
            # end tag
            if not nested:
                raise HTMLParseError(f"Unexpected end tag at byte offset {cur.byte_offset(begin)}")
            while i < n and not _is_space(text[i]) and text[i] != ">":
                i += 1
            end_name = text[begin + 2 : i].lower()
            while i < n and _is_space(text[i]):
                i += 1
            if cur.at(i) != ">":
                raise HTMLParseError(f"Unclosed end tag at byte offset {cur.byte_offset(begin)}")
            i += 1
            top = nested.pop()
            if end_name and end_name != top.tag:
                raise HTMLParseError(
                    f"Unmatched end tag at byte offset {cur.byte_offset(begin)}, expected "
                    f'"</{top.tag}>", found "</{end_name}>"'
                )
            length = out_len - top.utf16_offset
            if length <= 0:
                continue
            offset = top.utf16_offset
            entity: dict[str, Any] | None
            if top.tag in _SIMPLE_TYPES:
                entity = {"type": _SIMPLE_TYPES[top.tag], "offset": offset, "length": length}
            elif top.tag == "a":
                url = top.argument or "".join(out[top.text_len :])
                entity = _link_entity(url, offset, length)
            elif top.tag == "code":
                entity = {"type": "code", "offset": offset, "length": length}
                if top.argument:
                    entity["_language"] = top.argument
            elif top.tag == "pre":
                entity = {"type": "pre", "offset": offset, "length": length}
                if (
                    entities
                    and entities[-1]["type"] == "code"
                    and entities[-1]["offset"] == offset
                    and entities[-1]["length"] == length
                ):
                    inner = entities.pop()
                    if "_language" in inner:
                        entity["language"] = inner["_language"]
            elif top.tag == "blockquote":
                kind = "expandable_blockquote" if top.argument == "expandable" else "blockquote"
                entity = {"type": kind, "offset": offset, "length": length}
            else:  # tg-emoji
                entity = {
                    "type": "custom_emoji",
                    "offset": offset,
                    "length": length,
                    "custom_emoji_id": top.argument,
                }
            if entity is not None:
                entities.append(entity)
    if nested:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{nested[-1].tag}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities
