# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

from ansible_collections.helmops.unstick.plugins.module_utils.undo.backup_files import write_backup

NOW = 1795000000.0


def test_backup_is_private_exact_and_never_overwritten(tmp_path, make_release, make_object):
    obj = make_object(make_release(name="my.app-v2", status="pending-upgrade", version=10))
    first = write_backup(str(tmp_path), "ctx/prod:1", "apps", "my.app-v2", 10, obj, NOW)
    second = write_backup(str(tmp_path), "ctx/prod:1", "apps", "my.app-v2", 10, obj, NOW)

    assert first != second
    assert os.path.basename(first).startswith("my.app-v2.v10.")
    rel = os.path.relpath(first, str(tmp_path)).split(os.sep)
    assert rel[0] == "ctx_prod_1" and rel[1] == "apps"
    for path in (first, second):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            assert json.load(handle) == obj
    assert stat.S_IMODE(os.stat(os.path.dirname(first)).st_mode) == 0o700


def test_every_directory_it_creates_is_0700(tmp_path, make_release, make_object):
    old = os.umask(0o022)
    try:
        path = write_backup(str(tmp_path / "new" / "backups"), "prod", "shop", "cart", 3,
                            make_object(make_release()), NOW)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for level in ("new", "new/backups", "new/backups/prod", "new/backups/prod/shop"):
        assert stat.S_IMODE(os.stat(str(tmp_path / level)).st_mode) == 0o700, level


def test_odd_names_cannot_escape_backup_dir(tmp_path, make_release, make_object):
    obj = make_object(make_release())
    path = write_backup(str(tmp_path), "../../etc", "..", "../x", 1, obj, NOW)
    assert os.path.realpath(path).startswith(os.path.realpath(str(tmp_path)) + os.sep)
