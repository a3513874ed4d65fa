"""Images and frames in an answer, shown as links instead of loaded.

A model answer is markdown with inline HTML, rendered in every voter's browser. An
image in it, ``![x](http://host/pixel.png)`` or ``<img src=...>``, would load with no
click: a tracking pixel telling its host who is voting. `links_for_remote_media`
rewrites, for display only (REST keeps the raw text):

- markdown images, inline ``![alt](url "title")`` and reference-style ``![alt][ref]``,
  ``![alt][]``, ``![alt]`` (with a ``[ref]: url`` definition), into links
  ``[image: alt](url ...)``;
- HTML elements that load something (``img``, ``iframe``, ``video``, ``audio``,
  ``source``, ``embed``, ``object``, ...) into ``<a href="url">image: alt</a>``; a frame
  is always replaced, even one with ``srcdoc`` or no address;
- ``data:`` images stay (they load nothing); an address that is neither http(s) nor
  relative (``javascript:``, ``file:``) becomes plain text, never a link.

Code is left as written: fenced blocks, indented code blocks (after a blank line
that follows a paragraph, not a list item) and inline code spans. The page's
Content-Security-Policy (arena.web.security_headers) is the safety net for what this
misses (CSS ``url()``, SVG internals): it blocks every load from elsewhere.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_PARAGRAPHS = re.compile(r"(?<=\n)(?=[ \t]*\n)")  # cuts before each blank line
_BACKTICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_DEFINITION = re.compile(r"^ {0,3}\[((?:[^\]\\]|\\.)+)\]:[ \t]*\n?[ \t]*(<[^>\n]*>|\S+)",
                         re.MULTILINE)
_TAG_START = re.compile(r"<(img|image|iframe|frame|embed|object|video|audio|source|track"
                        r"|input|use|link)\b", re.IGNORECASE)
_TAG_REST = re.compile(r"((?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)>")
_TITLE = re.compile(r"[ \t\n]*+(?:(?:\"(?:[^\"\\]|\\.)*+\"|'(?:[^'\\]|\\.)*+'"
                    r"|\((?:[^()\\]|\\.)*+\))[ \t\n]*+)?\)")
_BRACKETS = re.compile(r"\\.|\[|\]|\n[ \t]*\n", re.DOTALL)
_ATTRIBUTE = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")
_URL_ATTRIBUTES = ("src", "srcset", "href", "xlink:href", "data", "poster", "background")
_SRCSET = re.compile(r"[\s,]*(\S+)(?:\s+[^,]*)?")
_FRAMES = {"iframe": "frame", "frame": "frame", "embed": "embedded content",
           "object": "embedded content"}
_LABELS = {"img": "image", "image": "image", "input": "image", "video": "video",
           "audio": "audio", "source": "media", "track": "media", "use": "resource",
           "link": "resource"}


def links_for_remote_media(text: str) -> str:
    """*text* with its images and frames as links; code untouched (see the module doc)."""
    if not _may_hold_media(text):
        return text
    pieces = _split_code_blocks(text)
    prose = "".join(piece for is_code, piece in pieces if not is_code)
    references = _definitions(prose)
    return "".join(_rewrite_paragraphs(piece, references) if not is_code else piece
                   for is_code, piece in pieces)


def _rewrite_paragraphs(prose: str, references: dict[str, str]) -> str:
    """Paragraph by paragraph (code spans and brackets end at a blank line), only
    those that may hold an image: the cost of a long answer is that of its images."""
    if not _may_hold_media(prose):
        return prose
    return "".join(_rewrite(part, references) if _may_hold_media(part) else part
                   for part in _PARAGRAPHS.split(prose))


def _may_hold_media(text: str) -> bool:
    return "![" in text or ("<" in text and _TAG_START.search(text) is not None)


# Block-level code ---------------------------------------------------------------

def _split_code_blocks(text: str) -> list[tuple[bool, str]]:
    """(is code, text) pieces: fenced blocks (any indentation, as in list items; an
    unclosed fence runs to the end) and indented code blocks."""
    pieces: list[tuple[bool, str]] = []
    fence: str | None = None
    previous = ""  # the previous line ("" when blank)
    in_list = False
    indented = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if fence is not None:
            pieces.append((True, line))
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening and not (opening.group(1)[0] == "`" and "`" in line[opening.end():]):
            fence = opening.group(1)
            pieces.append((True, line))
            previous, indented = stripped, False
            continue
        code_line = line.startswith(("    ", "\t")) and bool(stripped)
        if code_line and (indented or (not previous and not in_list)):
            indented = True
            pieces.append((True, line))
            continue
        if stripped:
            indented = False
            if _LIST_ITEM.match(line):
                in_list = True
            elif not line[:1].isspace() and not previous:
                in_list = False  # a paragraph after a blank line ends the list
        elif indented:
            pieces.append((True, line))
            continue
        pieces.append((False, line))
        previous = stripped
    merged: list[tuple[bool, str]] = []
    for is_code, line in pieces:
        if merged and merged[-1][0] == is_code:
            merged[-1] = (is_code, merged[-1][1] + line)
        else:
            merged.append((is_code, line))
    return merged


# Inline code spans and brackets (one pass each: no answer can make this slow) ------

class _Prose:
    """One piece of prose: its inline code spans, blank lines and matched brackets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blank_lines = [m.start() for m in _BLANK_LINE.finditer(text)]
        self.spans = self._code_spans()
        self.span_starts = [start for start, _ in self.spans]
        self.brackets = self._bracket_pairs()

    def inside_code(self, index: int) -> bool:
        number = bisect_right(self.span_starts, index) - 1
        return number >= 0 and index < self.spans[number][1]

    def _blank_between(self, start: int, end: int) -> bool:
        number = bisect_right(self.blank_lines, start)
        return number < len(self.blank_lines) and self.blank_lines[number] < end

    def _code_spans(self) -> list[tuple[int, int]]:
        """A run of n backticks opens a span closed by the next run of exactly n in the
        same paragraph; an unmatched run is literal."""
        runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(self.text)]
        by_size: dict[int, list[int]] = {}
        for number, (start, end) in enumerate(runs):
            by_size.setdefault(end - start, []).append(number)
        spans: list[tuple[int, int]] = []
        position = 0
        for number, (start, end) in enumerate(runs):
            if start < position or _escaped(self.text, start):
                continue
            same = by_size[end - start]
            later = bisect_right(same, number)
            if later == len(same):
                continue
            closing = runs[same[later]]
            if not self._blank_between(end, closing[0]):
                spans.append((start, closing[1]))
                position = closing[1]
        return spans

    def _bracket_pairs(self) -> dict[int, int]:
        """Each ``[`` (outside code, not escaped) -> its ``]`` in the same paragraph."""
        pairs: dict[int, int] = {}
        opened: list[int] = []
        for match in _BRACKETS.finditer(self.text):
            char = match.group()[0]
            if char == "\\" or self.inside_code(match.start()):
                continue
            if char == "\n":
                opened.clear()
            elif char == "[":
                opened.append(match.start())
            elif opened:
                pairs[opened.pop()] = match.start()
        return pairs


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes > 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


# Rewriting ---------------------------------------------------------------------------

def _rewrite(text: str, references: dict[str, str]) -> str:
    prose = _Prose(text)
    replacements = _markdown_images(prose, references)
    taken = [(start, end) for start, end, _ in replacements]
    position = 0
    while (tag := _TAG_START.search(text, position)) is not None:
        rest = _TAG_REST.match(text, tag.end())
        if rest is None:  # an unclosed tag: the browser drops it, and the rest with it
            break
        position = rest.end()
        if prose.inside_code(tag.start()) or _overlaps(taken, tag.start()):
            continue
        replacement = _tag_replacement(tag.group(1).lower(), rest.group(1))
        if replacement is not None:
            replacements.append((tag.start(), rest.end(), replacement))
    out, position = [], 0
    for start, end, replacement in sorted(replacements):
        out += [text[position:start], replacement]
        position = end
    return "".join(out) + text[position:]


def _overlaps(taken: list[tuple[int, int]], index: int) -> bool:
    """Whether *index* is in one of *taken* (sorted, not overlapping)."""
    number = bisect_right(taken, (index, len(taken) and taken[-1][1] + index + 1)) - 1
    return number >= 0 and index < taken[number][1]


def _markdown_images(prose: _Prose, references: dict[str, str]) -> list[tuple[int, int, str]]:
    text = prose.text
    found: list[tuple[int, int, str]] = []
    position = 0
    while (start := text.find("![", position)) >= 0:
        position = start + 2
        close = prose.brackets.get(start + 1)
        if close is None or _escaped(text, start) or prose.inside_code(start):
            continue
        alt = text[start + 2:close]
        end, url, tail = _inline_destination(text, close + 1)
        if url is None:
            end, url, tail = _reference(text, close + 1, alt, references)
        if url is None:
            continue
        if not _is_data_image(url):
            alt = _rewrite(alt, references) if _may_hold_media(alt) else alt
            found.append((start, end, _markdown_link(alt, url, tail)))
        position = end
    return found


def _inline_destination(text: str, index: int) -> tuple[int, str | None, str]:
    """After ``]``: ``(url "title")`` -> (end, url, the parenthesised part), else None."""
    if text[index:index + 1] != "(":
        return index, None, ""
    cursor = index + 1
    while cursor < len(text) and text[cursor] in " \t\n":
        cursor += 1
    if text[cursor:cursor + 1] == "<":
        close = text.find(">", cursor)
        if close < 0 or "\n" in text[cursor:close]:
            return index, None, ""
        url, cursor = text[cursor + 1:close], close + 1
    else:
        begin, depth = cursor, 0
        while cursor < len(text) and not text[cursor].isspace():
            char = text[cursor]
            if char == "\\":
                cursor += 2
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            cursor += 1
        url = text[begin:cursor]
    rest = _TITLE.match(text, cursor)
    if rest is None:
        return index, None, ""
    end = rest.end()
    return end, url, text[index:end]


def _reference(text: str, index: int, alt: str,
               references: dict[str, str]) -> tuple[int, str | None, str]:
    """After ``]``: ``[label]``, ``[]`` or nothing (the alt is the label)."""
    label, end = alt, index
    full = re.match(r"\[((?:[^\]\\]|\\.)*)\]", text[index:])
    if full is not None:
        label, end = full.group(1) or alt, index + full.end()
    url = references.get(_normalise(label))
    return end, url, f"[{label}]"


def _definitions(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _DEFINITION.finditer(text):
        found.setdefault(_normalise(match.group(1)), match.group(2).strip("<>"))
    return found


def _normalise(label: str) -> str:
    return " ".join(label.split()).casefold()


def _markdown_link(alt: str, url: str, destination: str) -> str:
    label = f"image: {alt}" if alt.strip() else "image"
    if _linkable(url):
        return f"[{label}]{destination}"
    return "\\[" + label.replace("[", "\\[").replace("]", "\\]") + "\\]"


def _tag_replacement(tag: str, attributes: str) -> str | None:
    values = {match.group(1).lower(): html.unescape(next(
        (g for g in match.group(2, 3, 4) if g is not None), ""))
        for match in _ATTRIBUTE.finditer(attributes)}
    urls = [url for name in _URL_ATTRIBUTES if (value := values.get(name, "").strip())
            for url in (_srcset(value) if name == "srcset" else [value.split()[0]])]
    if tag not in _FRAMES and all(_is_data_image(url) for url in urls):
        return None
    label = _FRAMES.get(tag) or _LABELS[tag]
    alt = values.get("alt", "").strip()
    if alt:
        label = f"{label}: {alt}"
    target = next((url for url in urls if not _is_data_image(url) and _linkable(url)), None)
    if target is None:
        return f"[{html.escape(label)}]"
    return f'<a href="{html.escape(target)}">{html.escape(label)}</a>'


def _srcset(value: str) -> list[str]:
    """The addresses of a srcset: "url [descriptor], ..." (a data: URL holds commas)."""
    return [m.group(1).rstrip(",") for m in _SRCSET.finditer(value)]


def _is_data_image(url: str) -> bool:
    return url.strip().lower().startswith("data:")


def _linkable(url: str) -> bool:
    """http(s), protocol-relative or relative: a link the voter may follow."""
    scheme = re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", url.strip())
    return scheme is None or scheme.group().lower() in ("http:", "https:")
