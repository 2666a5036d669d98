"""One way to write a figure and its interval, in the bench's tables and the HTML report."""

from technic_core.fmt import interval, secs


def test_seconds_and_speedups():
    assert secs(None) == "-" and secs(1.23456) == "1.235" and secs(96.14) == "96.1"
    assert interval(96.14, 88.21, 104.5) == "96.1 (88.2-104.5)"
    assert interval(1.152, 0.951, 1.384, "x") == "1.15x (0.95-1.38)"
    assert interval(36.4, 30.2, 41.9, "x") == "36x (30-42)"
    assert interval(None, 1, 2) == "-"


def test_the_text_and_html_forms_carry_the_same_figures():
    text, html = interval(2.5, 2.25, 2.75), interval(2.5, 2.25, 2.75, html=True)
    assert text == "2.500 (2.250-2.750)"
    assert html == "2.500 <small>(2.250–2.750)</small>"
