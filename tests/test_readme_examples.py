"""Every example figure, command output and reference table in the README and the documentation is what the tool
produces (and the schema and the CLI declare) now."""

from __future__ import annotations

import pytest
import readme_examples


def test_every_generated_block_stands_on_exactly_one_page():
    places = readme_examples.places()
    assert sorted(places) == sorted(readme_examples.SECTIONS), "a block without a page, or a page without a block"
    assert {name: pages for name, pages in places.items() if len(pages) != 1} == {}


def test_the_block_lookup_sees_a_block_missing_or_given_twice(tmp_path, monkeypatch):
    """The check above fails when a page loses a block or repeats one (it reads whatever pages() gives)."""
    page = tmp_path / "page.md"
    page.write_text("<!-- generated: a -->\nx\n<!-- end: a -->\n<!-- generated: a -->\ny\n<!-- end: a -->\n")
    monkeypatch.setattr(readme_examples, "ROOT", tmp_path)
    monkeypatch.setattr(readme_examples, "pages", lambda: [page])
    assert readme_examples.places() == {"a": ["page.md", "page.md"]}


@pytest.mark.heavy  # each block is its own test, on whichever core is free; the plans come from tests/examples.py
@pytest.mark.one_materialisation  # a page against the tool's output: the differential check runs everywhere else
@pytest.mark.parametrize("name", sorted(readme_examples.SECTIONS))
def test_the_pages_show_what_the_tool_produces(name):
    page = readme_examples.places()[name][0]
    assert readme_examples.shown(name) == readme_examples.SECTIONS[name](), (
        f"{page}: block {name!r} is stale: run `python tests/readme_examples.py` and review the diff")
