# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""helm_unstick's options of one host from the stuck_releases role's variables, on the controller (the
helm_unstick action plugin, in role mode). Python, not the role's Jinja: templating some twenty expressions
compiles each of them again in every worker, most of one cluster's cost in a big fleet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.kubeconfig import on_controller
from ansible_collections.helmops.unstick.plugins.lookup.cluster_connection import SINGLE, merge

#: role variable (after the prefix) -> helm_unstick option, passed as they are when set
PLAIN = (("min_age", "min_age"), ("strategy", "strategy"), ("pending_install", "pending_install"),
         ("releases", "releases"), ("exclude_namespaces", "exclude_namespaces"),
         ("exclude_releases", "exclude_releases"), ("max_remediations", "max_remediations"),
         ("helm_binary", "helm_binary"), ("storage_driver", "storage_driver"),
         ("sql_connection_string", "sql_connection_string"), ("timeout", "timeout"),
         ("request_timeout", "request_timeout"), ("cluster_timeout", "cluster_timeout"))


def unknown_variables(names, prefix, known):
    """{name: warning} for each of ``names`` that starts with ``prefix``, is not internal (a second ``_`` after
    the prefix) and is not ``known``, sorted by name; the warning names the known variable it is closest to:
    Ansible ignores a variable no task reads, so a misspelled ``stuck_releases_namespace`` would silently scan
    every namespace."""
    known = set(known)
    # compared without the prefix, which every name shares
    suffixes = sorted(k[len(prefix):] for k in known if k.startswith(prefix))
    warnings = {}
    for name in sorted(set(str(n) for n in names)):
        if not name.startswith(prefix) or name.startswith(prefix + "_") or name in known:
            continue
        close = difflib.get_close_matches(name[len(prefix):], suffixes, n=1)
        warnings[name] = "%s is not a variable of this role and is ignored%s" % (
            name, " (did you mean %s%s?)" % (prefix, close[0]) if close else "")
    return warnings


def _set(value):
    """Unset is None, and an empty string (what an unset variable becomes before ansible-core 2.19)."""
    return value is not None and value != ""


def role_options(value, environ, prefix="stuck_releases_"):
    """The options of this host: its connection (``<prefix>connection`` with the single connection variables
    over it, as the cluster_connection lookup merges them), then the role's variables; unset ones left out, so
    a play's ``group/helmops.unstick.helm`` module_defaults and K8S_AUTH_* still apply. ``value(name)``: the
    host's templated variable, or None; ``environ``: the controller's environment (HELM_DRIVER)."""
    singles = dict((option, value(prefix + name[len("stuck_releases_"):])) for name, option in SINGLE)
    out = merge(value(prefix + "connection"), singles)
    settings = dict((option, value(prefix + name)) for name, option in PLAIN)
    settings["remediate"] = boolean(value(prefix + "remediate") or False, strict=False)
    namespaces = value(prefix + "namespaces")
    # a string (an AWX/AAP survey answer: "shop, team-*") is split on commas and spaces
    settings["namespaces"] = re.findall(r"[^,\s]+", namespaces) if isinstance(namespaces, str) else namespaces
    # relative: to the directory ansible-playbook was started in (modules run in the playbook's)
    backup_dir = value(prefix + "backup_dir")
    settings["backup_dir"] = on_controller(backup_dir) if _set(backup_dir) and isinstance(backup_dir, str) \
        else backup_dir or None
    # unset: files when a backup directory is set, else in the cluster (sql: files only), so a remediation can
    # always be undone with playbooks/restore.yml
    driver = settings["storage_driver"] or environ.get("HELM_DRIVER")
    settings["backup"] = value(prefix + "backup") or (
        ["file"] if settings["backup_dir"] else [] if driver == "sql" else ["cluster"])
    settings["fail_on_error"] = False
    # one id for every cluster of this playbook run, unless set (the action gives the run's: plugin_utils.fleet_run)
    settings["run_id"] = value(prefix + "_run_id")
    out.update((key, val) for key, val in settings.items() if _set(val))
    return out
