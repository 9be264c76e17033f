# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end fixtures: the module run through ansible-playbook against a
local API server holding releases that real Helm left stuck."""

import pytest

from playbook_run import HELM_BIN, run_module  # noqa: F401  (also used by tests)


@pytest.fixture
def unstick(tmp_path):
    def _run(args, **kw):
        return run_module(tmp_path, args, **kw)
    return _run

