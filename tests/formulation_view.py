"""Reading a formulation as one writes a model: every column named by its family and keys ('flow S>D X all',
'production S X all', 'uses_row_4 A D all'), every row of a block by its business keys with its sense, right-hand
side and terms. Shared by the unit tests of the formulation and of the rules."""

from __future__ import annotations

from optimizer.model import FLOW_KEYS


def labels(formulation) -> list[str]:
    """A name for every column of the formulation, in order: its family and its keys."""
    names = []
    for name, family in formulation.families.items():
        keys = family.keys[FLOW_KEYS] if name == "flow" else family.keys
        for values in keys.itertuples(index=False):
            if name == "flow":
                origin, destination, item, period = values
                names.append(f"flow {origin}>{destination} {item} {period}")
            else:
                names.append(" ".join([name, *map(str, values)]))
    return names


def block_rows(formulation, block: str, keys: list[str]) -> dict[tuple, tuple]:
    """Each row of ``block`` by its business keys: (sense, rhs, {column name: coefficient})."""
    found = formulation.blocks[block]
    names = labels(formulation)
    rows = [tuple(r) for r in found.rows[keys].itertuples(index=False)]
    assert len(set(rows)) == len(rows), f"{block}: two rows with the same keys"
    terms: list[dict[str, float]] = [{} for _ in rows]
    for r, v, c in zip(found.row, found.var, found.coef, strict=True):
        terms[r][names[v]] = terms[r].get(names[v], 0.0) + float(c)
    return {key: (sense, float(rhs), terms[i])
            for i, (key, sense, rhs) in enumerate(zip(rows, found.rows["sense"], found.rows["rhs"], strict=True))}
