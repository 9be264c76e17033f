# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the stuck_releases role's clusters share within one ``ansible-playbook`` run, on the controller.

Ansible imports the role's action plugins (helm_unstick, fleet_report) in its main process before it forks a
worker per host, so this module is imported there once and every worker inherits it:

* ``RUN_ID``: one id for every cluster and every ``serial`` batch of the run (backups, Events, the fleet report,
  ``restore.yml -e restore_run=ID``), chosen here instead of by a task that read another host's variables;
* the result spool: each cluster's helm_unstick result as its task returned it (masked, no ``config``), one JSON
  file per host, so that the fleet report reads every cluster's result from files instead of resolving every
  host's variables through ``hostvars`` (about 20 ms a host: ten seconds at 500 clusters). The directory is the
  run's own (mode 0700, in the controller's temporary directory) and is removed when ``ansible-playbook`` exits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import errno
import gc
import hashlib
import json
import os
import random
import re
import shutil
import stat
import tempfile

from ansible_collections.helmops.unstick.plugins.module_utils.common.files import write_whole

RUN_ID = "%012x" % random.SystemRandom().getrandbits(48)
_MAIN_PID = os.getpid()
SPOOL = os.path.join(tempfile.gettempdir(), "helmops-unstick-%d-%s" % (os.getuid(), RUN_ID))


@atexit.register
def _remove_spool():
    # multiprocessing's workers leave with os._exit, so only the process that chose RUN_ID gets here
    if os.getpid() == _MAIN_PID:
        shutil.rmtree(SPOOL, ignore_errors=True)


def _spool_dir(key):
    """This run's spool for ``key`` (the role's uuid: one per role in a play), created 0700; a directory of
    someone else's, or a link, in its place is refused (OSError)."""
    for path in (SPOOL, os.path.join(SPOOL, _safe(key))):
        try:
            os.mkdir(path, 0o700)
        except OSError:
            pass
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise OSError("%s is not this user's private directory" % path)
    return path


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]", lambda m: "%%%02x" % ord(m.group(0)), str(name)) or "%"


def spool_result(key, host, result):
    """Keep ``host``'s result (already masked) for the fleet report of role ``key``; written whole or not at all."""
    write_whole(os.path.join(_spool_dir(key), _safe(host) + ".json"), json.dumps(result, default=str), 0o600)


def spooled_results(key, hosts):
    """The spooled results of ``hosts`` for role ``key``: {host: result}; hosts without one are left out."""
    out = {}
    directory = os.path.join(SPOOL, _safe(key))
    for host in hosts:
        try:
            with open(os.path.join(directory, _safe(host) + ".json")) as handle:
                out[host] = json.load(handle)
        except (OSError, ValueError):
            continue
    return out


def claim_report(key, runs):
    """True for the first fleet report of role ``key`` over these results, False when one was written already
    (``strategy: free``: each host runs the run_once report task as it gets there; two that finish together
    would both write and publish the same report)."""
    digest = hashlib.sha256(json.dumps(runs, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]
    try:
        os.close(os.open(os.path.join(_spool_dir(key), ".report-" + digest), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o600))
    except OSError as err:
        return err.errno != errno.EEXIST   # no spool: better the report twice than never
    return True


# Every object the main process has so far (Ansible, the kubernetes client, the collection) out of reach of the
# collector: a forked worker's collection would otherwise touch them all and copy their pages (copy-on-write).
gc.freeze()
