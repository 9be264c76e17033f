# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: kubeconfig
short_description: One host per context of one or more kubeconfig files
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Turns the contexts of one or more kubeconfig files into inventory hosts, so a fleet of clusters
    needs no hand-written inventory.
  - Every host gets C(stuck_releases_kubeconfig) (absolute path of the kubeconfig the context comes
    from, followed by the files its cluster or user come from, if others) and C(stuck_releases_context)
    (the context name), the collection's connection variables, read as they are by both roles,
    C(helmops.unstick.stuck_releases) and C(helmops.unstick.guarded_upgrade),
    plus C(ansible_connection=local) since there is nothing to SSH into (the roles talk to the Kubernetes
    API from the controller).
  - Also sets C(k8s_cluster), C(k8s_user) (the names the context refers to), C(k8s_server) (the
    cluster's server URL) and C(k8s_namespace) (only when the context sets a namespace).
  - Never puts credentials in host variables. Tokens, passwords, client keys and certificates, auth
    provider and exec settings stay in the kubeconfig; any user name and password in a server URL are
    removed from C(k8s_server).
  - Every host joins the group O(group), a group per cluster (O(group_by_cluster)) and, with
    O(prefix_separator), a group per context-name prefix.
  - Uses a YAML configuration file whose name ends with C(kubeconfig.yml), C(kubeconfig.yaml),
    C(.helmops.yml) or C(.helmops.yaml).
  - The files are read as kubectl reads them; when several define the same context name, the first
    one wins, as with kubectl's C(KUBECONFIG) merge, and the others are skipped with a warning.
  - A context whose cluster or user its own file does not define takes it from the first file that does
    (kubectl's merge); its C(stuck_releases_kubeconfig) is then its own file followed by that file, joined by
    C(:), which the modules merge the same way. A name its own file defines is always taken from that file,
    even when an earlier file defines it too (kubeadm names every cluster C(kubernetes)); kubectl would take
    the earlier file's, which for files of separate clusters is another cluster than the context's own.
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: ['helmops.unstick.kubeconfig']
  kubeconfigs:
    description:
      - Kubeconfig files to read, in order. Shell globs (C(~/.kube/clusters/*.yaml)) are allowed and
        their matches are read in name order. C(~) and environment variables are expanded; relative
        paths are relative to the directory of this inventory source.
      - When not set, the paths in the E(KUBECONFIG) environment variable (a path list separated by
        C(:), as for kubectl; relative paths relative to the current directory), or else
        C(~/.kube/config).
      - A file that cannot be used (unreadable, not YAML, no context) or a glob matching no file is
        handled as O(on_bad_kubeconfig) says.
    type: list
    elements: str
  on_bad_kubeconfig:
    description:
      - What to do with a kubeconfig that cannot be used (missing or unreadable, not YAML, not a
        kubeconfig, no context), a glob matching no file, and a context that cannot be used (no name,
        or naming a cluster the file does not define).
      - V(warn) shows a warning and goes on with the rest. When no kubeconfig at all gives a context,
        parsing fails with every file and its reason, so a single bad kubeconfig is always an error.
      - V(error) fails the inventory source on the first problem.
    type: str
    choices: [warn, error]
    default: warn
  contexts_include:
    description:
      - Regular expressions (Python C(re), matched with C(re.search), so anchor them with C(^)/C($) for
        whole names) on context names. When not empty, only contexts matching at least one are kept.
    type: list
    elements: str
    default: []
  contexts_exclude:
    description:
      - Regular expressions (matched with C(re.search)) on context names. Contexts matching any are
        left out, even if O(contexts_include) matches them.
    type: list
    elements: str
    default: []
  group:
    description:
      - The group every host joins. C(playbooks/remediate.yml) targets this group by default.
      - An empty string adds no such group. Characters not valid in a group name are replaced by C(_).
    type: str
    default: helm_clusters
  group_by_cluster:
    description:
      - Adds each host to a group named C(cluster_) followed by the kubeconfig cluster name, with every
        character not valid in a group name replaced by C(_) (cluster C(kind-prod) gives group
        C(cluster_kind_prod)).
    type: bool
    default: true
  prefix_separator:
    description:
      - When not empty, each host also joins a group named after the part of its context name before the
        first O(prefix_separator) (with O(prefix_separator=-), contexts C(prod-eu-1), C(prod-us-1) and
        C(staging-eu-1) give groups C(prod) and C(staging)), prefixed with O(group_prefix).
      - Contexts whose name does not contain the separator, or starts with it, join no such group.
      - Characters not valid in a group name are replaced by C(_).
    type: str
    default: ''
  group_prefix:
    description:
      - Prepended to the names of the groups made from context-name prefixes (see O(prefix_separator)),
        for example V(env_) gives C(env_prod) and C(env_staging). Useful when a prefix could clash with a
        host or another group name.
    type: str
    default: ''
  host_name:
    description:
      - What names the hosts.
      - V(context) makes one host per context, named after the context.
      - V(cluster) makes one host per cluster, named after the kubeconfig cluster name; when several kept
        contexts use the same cluster, the first one (in file order, after O(contexts_include) and
        O(contexts_exclude)) is used and the others are skipped (with a warning only when they point at
        a different server).
    type: str
    choices: [context, cluster]
    default: context
  controller_python:
    description:
      - Sets C(ansible_python_interpreter) to the Python running Ansible on the controller, as Ansible does
        for the implicit C(localhost), so the role's modules find the Python libraries installed
        there (C(kubernetes)) instead of whatever interpreter discovery picks.
      - Set to V(false) to leave the interpreter to your variables or to interpreter discovery. As it is a
        host variable, group variables cannot override it, O(compose) and C(host_vars) can.
    type: bool
    default: true
notes:
  - Host names are the context (or cluster) names as they are, EKS names such as
    C(arn:aws:eks:eu-west-1:111122223333:cluster/prod) included. Rename the contexts (C(kubectl config
    rename-context)) for shorter names; the role only needs C(stuck_releases_context) to be right.
  - Two clusters whose names differ only by characters not valid in group names share a
    C(cluster_) group.
seealso:
  - name: Organizing cluster access using kubeconfig files
    description: How kubectl reads and merges kubeconfig files and the KUBECONFIG variable.
    link: https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/
"""

EXAMPLES = r"""
# clusters.kubeconfig.yml: every context of ~/.kube/config (or of $KUBECONFIG)
plugin: helmops.unstick.kubeconfig

# fleet.kubeconfig.yml: several files, production only, groups per environment
plugin: helmops.unstick.kubeconfig
kubeconfigs:
  - ~/.kube/config
  - ~/.kube/clusters/*.yaml
contexts_include: ['^prod-']
contexts_exclude: ['-sandbox$']
prefix_separator: '-'
group_prefix: env_

# clusters.helmops.yml: one host per cluster, extra groups and variables with constructed features
plugin: helmops.unstick.kubeconfig
kubeconfigs: [./kubeconfigs/fleet.yaml]
host_name: cluster
group: helm_clusters
compose:
  cluster_env: "'production' if k8s_cluster is match('prod') else 'other'"
groups:
  eks: k8s_server is search('eks\\.amazonaws\\.com')
keyed_groups:
  - key: k8s_namespace | default('all_namespaces')
    prefix: ns
"""

import glob
import os
import re
import sys

from urllib.parse import urlsplit, urlunsplit

import yaml

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.utils.unsafe_proxy import wrap_var

SOURCE_SUFFIXES = ("kubeconfig.yml", "kubeconfig.yaml", ".helmops.yml", ".helmops.yaml")
GLOB_CHARS = re.compile(r"[*?\[]")


class KubeconfigProblem(Exception):
    """A kubeconfig (or one of its contexts) that cannot be used."""


def strip_userinfo(url):
    """The server URL without any ``user:password@`` part."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def yaml_error(exc):
    """A YAML error on one line: what and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or to_native(exc).splitlines()[0]
    if mark is None:
        return problem
    return "%s (line %d, column %d)" % (problem, mark.line + 1, mark.column + 1)


def named_entries(doc, key, path, problems):
    """``{name: body}`` of a kubeconfig list (``clusters``, ``contexts``); the first of a name wins."""
    entries = {}
    items = doc.get(key) or []
    if not isinstance(items, list):
        problems.append("kubeconfig %s: '%s' is not a list" % (path, key))
        return entries
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get("name") in (None, ""):
            problems.append("kubeconfig %s: entry %d of '%s' has no name" % (path, index, key))
            continue
        name = to_text(item["name"])
        body = item.get(key[:-1])
        if body is None:
            body = {}
        if not isinstance(body, dict):
            problems.append("kubeconfig %s: %s '%s' is not a mapping" % (path, key[:-1], name))
            continue
        entries.setdefault(name, body)
    return entries


def load_kubeconfig(path):
    """One kubeconfig: ``{"path", "contexts", "clusters", "users"}`` (each ``{name: body}``), its problems.

    Raises KubeconfigProblem when the whole file cannot be used."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise KubeconfigProblem("cannot read kubeconfig %s: %s" % (path, exc.strerror or to_native(exc)))
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise KubeconfigProblem("kubeconfig %s is not valid YAML: %s" % (path, yaml_error(exc)))
    if not isinstance(doc, dict):
        raise KubeconfigProblem("kubeconfig %s is not a kubeconfig (expected a mapping with 'contexts', got %s)"
                                % (path, "an empty file" if doc is None else doc.__class__.__name__))
    problems = []
    read = {"path": path, "clusters": named_entries(doc, "clusters", path, problems),
            "contexts": named_entries(doc, "contexts", path, problems),
            "users": named_entries(doc, "users", path, problems)}
    # a file of clusters or users alone is part of a merge (KUBECONFIG=contexts.yaml:clusters.yaml)
    if not (read["contexts"] or read["clusters"] or read["users"]):
        raise KubeconfigProblem("kubeconfig %s has no contexts%s"
                                % (path, " (%s)" % "; ".join(problems) if problems else ""))
    return read, problems


def merged_contexts(files, problems):
    """The host variables of every context of ``files`` (``load_kubeconfig``'s, in order), with the files
    merged as kubectl merges KUBECONFIG: a cluster or user that a context's own file does not define comes
    from the first file that does, and the host's kubeconfig is its own file followed by those files (joined
    by ``:``; the modules merge them the same way). A context's own file wins for the names it defines (see
    DOCUMENTATION: kubeadm names every cluster ``kubernetes``)."""
    first = {"clusters": {}, "users": {}}
    for read in files:
        for section in first:
            for name in read[section]:
                first[section].setdefault(name, read)
    found = []
    for read in files:
        for name, ctx in read["contexts"].items():
            cluster, user = to_text(ctx.get("cluster") or ""), to_text(ctx.get("user") or "")
            cluster_file = read if cluster in read["clusters"] else first["clusters"].get(cluster)
            if cluster_file is None:
                problems.append("kubeconfig %s: context '%s' refers to cluster '%s', which %s" % (
                    read["path"], name, cluster, "the file does not define" if len(files) == 1
                    else "no kubeconfig read defines"))
                continue
            user_file = read if user in read["users"] else first["users"].get(user, read)
            paths = [read["path"]] + [f["path"] for f in (cluster_file, user_file) if f is not read]
            hostvars = {
                "stuck_releases_kubeconfig": os.pathsep.join(sorted(set(paths), key=paths.index)),
                "stuck_releases_context": name,
                "ansible_connection": "local",
                "k8s_cluster": cluster,
                "k8s_user": user,
                "k8s_server": strip_userinfo(to_text(cluster_file["clusters"][cluster].get("server") or "")),
            }
            if ctx.get("namespace"):
                hostvars["k8s_namespace"] = to_text(ctx["namespace"])
            found.append(hostvars)
    return found


class InventoryModule(BaseInventoryPlugin, Constructable):

    NAME = "helmops.unstick.kubeconfig"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(SOURCE_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self._source = path
        self._on_bad = self.get_option("on_bad_kubeconfig")
        include = self._regexes("contexts_include")
        exclude = self._regexes("contexts_exclude")

        problems = []
        files = []
        for kubeconfig in self._kubeconfig_files(path, problems):
            try:
                read, file_problems = load_kubeconfig(kubeconfig)
            except KubeconfigProblem as exc:
                self._problem(to_native(exc), problems)
                continue
            for problem in file_problems:
                self._problem(problem, problems)
            files.append(read)
        context_problems = []
        contexts = merged_contexts(files, context_problems)
        for problem in context_problems:
            self._problem(problem, problems)
        if not contexts:
            raise AnsibleParserError("%s: no usable context in any kubeconfig: %s"
                                     % (path, "; ".join(problems) or "no kubeconfig given"))
        for problem in problems:
            self.display.warning("%s: %s (skipped)" % (path, problem))

        kept = [c for c in contexts
                if (not include or any(r.search(c["stuck_releases_context"]) for r in include))
                and not any(r.search(c["stuck_releases_context"]) for r in exclude)]
        if not kept:
            self.display.warning("%s: none of the %d contexts matched contexts_include/contexts_exclude"
                                 % (path, len(contexts)))
        self._add_hosts(kept)

    # --- options -----------------------------------------------------------------
    def _regexes(self, option):
        compiled = []
        for pattern in self.get_option(option) or []:
            try:
                compiled.append(re.compile(to_text(pattern)))
            except re.error as exc:
                raise AnsibleParserError("%s: invalid regular expression %r in %s: %s"
                                         % (self._source, pattern, option, exc))
        return compiled

    def _problem(self, message, problems):
        """Fail now (on_bad_kubeconfig=error), or keep it for a warning or the final error."""
        if self._on_bad == "error":
            raise AnsibleParserError("%s: %s" % (self._source, message))
        problems.append(message)

    def _kubeconfig_files(self, source, problems):
        """Absolute paths of the kubeconfigs to read, in order, each file once."""
        patterns = self.get_option("kubeconfigs")
        if patterns:
            base = os.path.dirname(os.path.abspath(source))
        else:
            env = os.environ.get("KUBECONFIG", "")
            patterns = [p for p in env.split(os.pathsep) if p] or ["~/.kube/config"]
            base = os.getcwd()
        files, seen = [], set()
        for pattern in patterns:
            expanded = os.path.expandvars(os.path.expanduser(to_text(pattern)))
            expanded = os.path.normpath(os.path.join(base, expanded))
            if GLOB_CHARS.search(expanded):
                matches = [m for m in sorted(glob.glob(expanded)) if os.path.isfile(m)]
                if not matches:
                    self._problem("kubeconfigs pattern %s matched no file" % pattern, problems)
            else:
                matches = [expanded]
            for match in matches:
                real = os.path.realpath(match)
                if real not in seen:
                    seen.add(real)
                    files.append(match)
        return files

    # --- hosts -------------------------------------------------------------------
    def _group(self, name):
        safe = self._sanitize_group_name(name)
        return self.inventory.add_group(safe)

    def _add_hosts(self, contexts):
        by_cluster = self.get_option("host_name") == "cluster"
        group = self.get_option("group")
        separator = self.get_option("prefix_separator")
        group_prefix = self.get_option("group_prefix") or ""
        strict = self.get_option("strict")
        if group:
            safe = self._sanitize_group_name(group)
            if safe != group:
                self.display.warning("%s: group %r is not a valid group name, using %r" % (self._source, group, safe))
            group = self.inventory.add_group(safe)

        added = {}
        for hostvars in contexts:
            name = hostvars["k8s_cluster"] if by_cluster else hostvars["stuck_releases_context"]
            if name in added:
                self._skip_duplicate(name, hostvars, added[name], by_cluster)
                continue
            if name in self.inventory.hosts:
                self.display.warning("%s: host %s is already in the inventory (from another source); context '%s' of %s "
                                     "sets its variables too" % (self._source, name, hostvars["stuck_releases_context"],
                                                                 hostvars["stuck_releases_kubeconfig"]))
            added[name] = hostvars
            self.inventory.add_host(name)
            if self.get_option("controller_python"):
                self.inventory.set_variable(name, "ansible_python_interpreter", sys.executable)
            for key, value in hostvars.items():
                # values come from kubeconfig files, never templates: ansible-core before 2.19 would template
                # them when used (2.19 already leaves them untrusted)
                self.inventory.set_variable(name, key, wrap_var(value))
            if group:
                self.inventory.add_child(group, name)
            if self.get_option("group_by_cluster"):
                self.inventory.add_child(self._group("cluster_" + hostvars["k8s_cluster"]), name)
            if separator:
                prefix = hostvars["stuck_releases_context"].split(separator, 1)[0]
                if prefix and prefix != hostvars["stuck_releases_context"]:
                    self.inventory.add_child(self._group(group_prefix + prefix), name)

            variables = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)

    def _skip_duplicate(self, name, hostvars, first, by_cluster):
        where = "context '%s' of %s" % (hostvars["stuck_releases_context"], hostvars["stuck_releases_kubeconfig"])
        kept = "context '%s' of %s" % (first["stuck_releases_context"], first["stuck_releases_kubeconfig"])
        if not by_cluster:
            self.display.warning("%s: %s skipped: a context of that name was already read (%s, the first one wins as "
                                 "with kubectl)" % (self._source, where, kept))
        elif hostvars["k8s_server"] != first["k8s_server"]:
            self.display.warning("%s: %s skipped: host %s already comes from %s, whose cluster has another server (%s, "
                                 "not %s)" % (self._source, where, name, kept, first["k8s_server"], hostvars["k8s_server"]))
        else:
            self.display.vv("%s: %s skipped: host %s already comes from %s (same cluster)" % (self._source, where, name, kept))
