# SPDX-License-Identifier: GPL-3.0-or-later
"""The real ansible-rulebook (with drools-jpy on the Java 17 JDK) running a rulebook whose source is the
collection's helmops.unstick.stuck_releases, in the background, as an operator starts it:

    with Rulebook(tmp_path, RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kcfg}], min_age=5,
                  inventory=inv) as rb:
        rb.wait_for(lambda: rb.events(), 120, "an event")
        assert rb.events() == [("eu", "shop", "web", 2, "pending-upgrade")]

``EVENTS_RULEBOOK`` (tests/support/eda/events.yml) prints each event as one ``EDA-EVENT`` line;
``REMEDIATE_RULEBOOK`` is the one the collection ships.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import yaml

from tools import ANSIBLE_RULEBOOK

ROOT = Path(__file__).resolve().parents[2]
REMEDIATE_RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "remediate.yml"
AWX_RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "remediate_awx.yml"
EVENTS_RULEBOOK = Path(__file__).resolve().parent / "eda" / "events.yml"


class Rulebook:
    def __init__(self, tmp_path, rulebook, clusters, min_age=5, inventory=None, extra_vars=None,
                 source_args=None):
        self.tmp = Path(tmp_path)
        self.rulebook = Path(rulebook)
        variables = {"stuck_releases_clusters": clusters, "stuck_releases_min_age": min_age,
                     "stuck_releases_report_dir": str(self.tmp / "report")}
        variables.update(extra_vars or {})
        self.vars_file = self.tmp / "eda-vars.yml"
        self.vars_file.write_text(yaml.safe_dump(variables))
        self.inventory = inventory
        self.source_args = source_args
        self.log = self.tmp / "ansible-rulebook.log"
        self.proc = None

    def start(self):
        rulebook = self.rulebook
        if self.source_args:   # the same rulebook with more source arguments (watch_timeout, max_backoff)
            doc = yaml.safe_load(rulebook.read_text())
            doc[0]["sources"][0]["helmops.unstick.stuck_releases"].update(self.source_args)
            rulebook = self.tmp / rulebook.name
            rulebook.write_text(yaml.safe_dump(doc, sort_keys=False))
        argv = [str(ANSIBLE_RULEBOOK), "--rulebook", str(rulebook), "--vars", str(self.vars_file), "-v"]
        if self.inventory:
            argv += ["--inventory", str(self.inventory)]
        env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(self.tmp / "ansible-tmp"), PYTHONUNBUFFERED="1")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=str(self.tmp), env=env,
                                         start_new_session=True)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def events(self):
        """(cluster, namespace, release, revision, status) of each EDA-EVENT line, in order."""
        out = []
        for line in self.output().splitlines():
            if "EDA-EVENT " in line:
                fields = line.split("EDA-EVENT ", 1)[1].strip().strip("'\"").split()
                out.append((fields[0], fields[1], fields[2], int(fields[3]), fields[4]))
        return out

    def emitted(self):
        """(cluster, namespace/release, revision) from the source's own log line for each event it emitted."""
        out = []
        for line in self.output().splitlines():
            if "helmops.unstick.stuck_releases" in line and " for " in line and "revision" in line:
                words = line.split("helmops.unstick.stuck_releases", 1)[1].split()
                # "- cluster NAME: NS/REL revision N STATUS for A s"
                idx = words.index("cluster")
                out.append((words[idx + 1].rstrip(":"), words[idx + 2], int(words[idx + 4])))
        return out

    def wait_for(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("ansible-rulebook ended (rc=%s) while waiting for %s:\n%s"
                                     % (self.proc.returncode, what, self.output()[-6000:]))
            value = predicate()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError("no %s within %d s; ansible-rulebook said:\n%s" % (what, timeout, self.output()[-6000:]))
