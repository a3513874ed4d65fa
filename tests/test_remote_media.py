"""Images and frames in answers become links; code stays as written (arena.remote_media)."""

from __future__ import annotations

import pytest

from arena.remote_media import links_for_remote_media as links

PIXEL = "http://tracker.example/pixel.png"


@pytest.mark.parametrize(("answer", "shown"), [
    (f"See ![a cat]({PIXEL}) here", f"See [image: a cat]({PIXEL}) here"),
    (f'![cat]({PIXEL} "the title")', f'[image: cat]({PIXEL} "the title")'),
    ("![x](<http://h.example/a b.png>)", "[image: x](<http://h.example/a b.png>)"),
    (f"![]({PIXEL})", f"[image]({PIXEL})"),
    (f"![multi\nline alt]({PIXEL})", f"[image: multi\nline alt]({PIXEL})"),
    ("![p](http://h.example/a_(b).png)", "[image: p](http://h.example/a_(b).png)"),
    # reference-style: full, collapsed, shortcut; labels match case-insensitively
    (f"![cat][pic]\n\n[pic]: {PIXEL}", f"[image: cat][pic]\n\n[pic]: {PIXEL}"),
    (f"![Cat][]\n\n[cat]: <{PIXEL}>", f"[image: Cat][Cat]\n\n[cat]: <{PIXEL}>"),
    (f"![Cat]\n\n[CAT]:\n  {PIXEL}", f"[image: Cat][Cat]\n\n[CAT]:\n  {PIXEL}"),
    ("![no definition] stays text", "![no definition] stays text"),
    # an image inside an image's alt text is a link too
    (f"![a ![b]({PIXEL}) c]({PIXEL})", f"[image: a [image: b]({PIXEL}) c]({PIXEL})"),
    # HTML
    (f'<img src="{PIXEL}" alt="cat">', f'<a href="{PIXEL}">image: cat</a>'),
    (f"<IMG SRC={PIXEL}>", f'<a href="{PIXEL}">image</a>'),
    (f"<img alt='a > b' src='{PIXEL}'/>", f'<a href="{PIXEL}">image: a &gt; b</a>'),
    ('<img src="http://h.example/?a=1&amp;b=2">', '<a href="http://h.example/?a=1&amp;b=2">'
                                                  'image</a>'),
    (f'<iframe src="{PIXEL}"></iframe>', f'<a href="{PIXEL}">frame</a></iframe>'),
    ('<iframe srcdoc="<img src=http://h.example/x>"></iframe>', "[frame]</iframe>"),
    ("<iframe></iframe>", "[frame]</iframe>"),
    (f'<video poster="{PIXEL}" src="{PIXEL}"></video>', f'<a href="{PIXEL}">video</a></video>'),
    (f'<picture><source srcset="{PIXEL} 1x, http://h.example/2.png 2x"></picture>',
     f'<picture><a href="{PIXEL}">media</a></picture>'),
    (f'<object data="{PIXEL}"></object>', f'<a href="{PIXEL}">embedded content</a></object>'),
    # addresses that are not http(s) never become links
    ("![x](javascript:alert(1))", "\\[image: x\\]"),
    ('<img src="javascript:alert(1)" alt="x">', "[image: x]"),
    ('<img src="file:///etc/passwd">', "[image]"),
])
def test_images_and_frames_become_links(answer: str, shown: str) -> None:
    assert links(answer) == shown


@pytest.mark.parametrize("answer", [
    "![dot](data:image/png;base64,iVBORw0KGgo=)",
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="dot">',
    '<img srcset="data:image/png;base64,AA 1x, data:image/png;base64,BB 2x">',
    "no images at all, a < b and c > d",
    "\\![escaped](http://h.example/x.png) is a link, not an image",
    "[a link](http://h.example/page) is fine",
])
def test_what_loads_nothing_stays_as_written(answer: str) -> None:
    assert links(answer) == answer


@pytest.mark.parametrize("code", [
    f"```markdown\n![x]({PIXEL})\n<img src=\"{PIXEL}\">\n```",
    f"~~~\n![x]({PIXEL})\n~~~",
    f"````\n```\n![x]({PIXEL})\n```\n````",  # a longer fence holds a shorter one
    f"Some text:\n\n    ![x]({PIXEL})\n    <img src=\"{PIXEL}\">",  # an indented code block
    f"1. install:\n   ```html\n   <img src=\"{PIXEL}\">\n   ```",  # a fence in a list item
    f"```\nunclosed fence runs to the end\n![x]({PIXEL})",
])
def test_code_blocks_stay_untouched(code: str) -> None:
    assert links(code) == code
    if "unclosed" not in code:  # prose after the block is rewritten again
        after = f"{code}\n\n![y]({PIXEL})"
        assert links(after) == f"{code}\n\n[image: y]({PIXEL})"


def test_inline_code_stays_untouched() -> None:
    answer = (f"Write `![x]({PIXEL})` or ``<img src=\"{PIXEL}\"> with ` inside``, "
              f"not ![y]({PIXEL}).")
    assert links(answer) == answer.replace("not ![y]", "not [image: y]")
    # an unmatched backtick is literal: the image after it is not code
    assert links(f"a ` b ![y]({PIXEL})") == f"a ` b [image: y]({PIXEL})"


def test_an_indented_line_in_a_list_is_not_code() -> None:
    answer = f"1. a step\n\n    ![diagram]({PIXEL})\n"
    assert links(answer) == f"1. a step\n\n    [image: diagram]({PIXEL})\n"


def test_a_streamed_answer_cut_mid_image_shows_no_image() -> None:
    """While an answer streams, an image whose address is not complete is not one yet."""
    partial = "Here: ![pixel](http://tracker.exa"
    assert links(partial) == partial
    assert links(partial + "mple/p.png)") == "Here: [image: pixel](http://tracker.example/p.png)"


@pytest.mark.parametrize("hostile", [
    "![" * 20_000, '<img "' * 8_000, '![a](u "' * 5_000, "`" * 40_000,
    "![a](" + "(" * 40_000, "[" * 20_000 + "]" * 20_000, "\\" * 40_000 + "![x](y)",
])
def test_hostile_answers_finish(hostile: str) -> None:
    """Every pass is linear: these finish at once (a quadratic pass would take minutes)."""
    assert isinstance(links(hostile), str)
