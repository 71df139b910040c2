"""Every example figure and command output in the README is what the tool produces now."""

from __future__ import annotations

import pytest
import readme_examples


def test_every_generated_block_is_in_the_readme():
    found = readme_examples.blocks((readme_examples.ROOT / "README.md").read_text())
    assert set(found) == set(readme_examples.SECTIONS)


@pytest.mark.heavy  # each block is its own test, on whichever core is free; the plans come from tests/examples.py
@pytest.mark.parametrize("name", sorted(readme_examples.SECTIONS))
def test_the_readme_shows_what_the_tool_produces(name):
    shown = readme_examples.blocks((readme_examples.ROOT / "README.md").read_text())[name]
    assert shown == readme_examples.SECTIONS[name](), (
        f"README block {name!r} is stale: run `python tests/readme_examples.py` and review the diff")
