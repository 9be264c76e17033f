# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault-matrix fixtures (they live in faultkit.py, importable by the tests)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from faultkit import (  # noqa: E402,F401  (fixtures and the tally hook)
    fleet,
    inproc,
    ledger,
    module,
    pytest_terminal_summary,
    seed,
    tally,
    tally_file,
)
