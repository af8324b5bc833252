"""Browser offsets (UTF-16 code units, line breaks as LF) against Python string indexes."""
import pytest

from impactmodel.coding import offsets

EMOJI = "Staff 😀 now talk\r\nto each other 👍🏽."


def test_astral_characters_count_twice_in_the_browser():
    # "Staff " is 6 code units; the emoji is 1 Python character but 2 UTF-16 units.
    assert offsets.to_browser(EMOJI, 6) == 6
    assert offsets.to_browser(EMOJI, 7) == 8
    assert offsets.to_python(EMOJI, 8) == 7
    assert EMOJI[offsets.to_python(EMOJI, 9):offsets.to_python(EMOJI, 17)] == "now talk"


def test_crlf_is_one_character_in_the_browser_and_never_split():
    browser = offsets.browser_text(EMOJI)
    assert "\r" not in browser
    # The JS length of the text equals the last browser offset.
    assert len(browser.encode("utf-16-le")) // 2 == offsets.to_browser(EMOJI, len(EMOJI))
    start = browser.index("to each")
    start16 = len(browser[:start].encode("utf-16-le")) // 2
    assert EMOJI[offsets.to_python(EMOJI, start16):].startswith("to each")


def test_every_python_index_round_trips():
    for i in range(len(EMOJI) + 1):
        if i > 0 and EMOJI[i - 1] == "\r" and EMOJI[i] == "\n":
            continue   # inside CR LF: the browser has no such position
        assert offsets.to_python(EMOJI, offsets.to_browser(EMOJI, i)) == i


@pytest.mark.parametrize("bad", [-1, 7, 999])
def test_offsets_inside_a_surrogate_pair_or_outside_are_refused(bad):
    with pytest.raises(ValueError):
        offsets.to_python(EMOJI, bad)


def test_empty_span_is_refused():
    with pytest.raises(ValueError, match="empty"):
        offsets.span_to_python("abc", 2, 2)


def test_lf_text_maps_every_index_both_ways():
    from impactmodel.coding.qdpx import lf_text
    text = "a\r\nb\rc\n😀d\r\n"
    lf, to_lf, to_text = lf_text(text)
    assert lf == "a\nb\nc\n😀d\n"
    assert len(to_lf) == len(text) + 1 and len(to_text) == len(lf) + 1
    for i, ch in enumerate(text):
        if not (ch == "\n" and i and text[i - 1] == "\r"):
            assert text[to_text[to_lf[i]]] == ch
    assert text[to_text[lf.index("b")]:to_text[lf.index("d") + 2]] == "b\rc\n😀d\r\n"
