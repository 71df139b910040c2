"""Marginal costs as the analyst reads them in a sentence or a terminal table (workbooks use number formats;
amounts in messages use ``optimizer.findings.fmt``).

- ``rate_text``: a marginal cost or shadow price: two decimals, or four significant digits where two decimals
  would show 0.00 (the examples' USD M per t CO2e is about 0.0001), or ``AT_THE_LIMIT`` where a bound is at
  the most demanding value any plan reaches (an infinite rate).
"""

from __future__ import annotations

import math

import numpy as np

#: What a one-sided marginal cost shows where no plan lies past the bound (``optimizer.marginals``).
AT_THE_LIMIT = "at the limit"


def rate_text(value: float) -> str:
    """A cost per unit: ``12.35``, ``0.00005565``, or ``at the limit``."""
    if value == math.inf:
        return AT_THE_LIMIT
    if value and abs(value) < 0.01:
        return np.format_float_positional(value, precision=4, fractional=False)
    return f"{value:,.2f}"

