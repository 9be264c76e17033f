# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims


def test_a_claim_outlives_helms_timeout_by_the_grace():
    mark = claims.new_claim("rollback", 3, 2, "ops@h", "run1", 1000, 300)
    assert (mark.at, mark.until) == (1000, 1000 + 300 + claims.CLAIM_GRACE)


def test_the_grace_is_60_seconds_unless_the_environment_says_otherwise():
    assert claims.claim_grace({}) == 60
    assert claims.claim_grace({"HELMOPS_UNSTICK_CLAIM_GRACE": "15"}) == 15


@pytest.mark.parametrize("raw", ["4", "0", "-60", "1.5", "soon", ""])
def test_a_bad_grace_fails_naming_the_variable_and_its_value(raw):
    with pytest.raises(ValueError) as err:
        claims.claim_grace({"HELMOPS_UNSTICK_CLAIM_GRACE": raw})
    assert str(err.value) == "HELMOPS_UNSTICK_CLAIM_GRACE=%r: a claim's grace is whole seconds, at least 5" % raw
