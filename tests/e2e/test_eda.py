# SPDX-License-Identifier: GPL-3.0-or-later
"""Event-Driven Ansible on localkube: the real ansible-rulebook (drools on Java 17) runs the collection's event
source helmops.unstick.stuck_releases; releases are left stuck by killing the real helm CLI (SIGKILL) mid-upgrade.

- the shipped rulebook (extensions/eda/rulebooks/remediate.yml) remediates a stale release seconds after
  min_age, and a live operation that finishes before min_age gets no event;
- one event per stuck revision through a rewrite of the record, an API server restart mid-watch, a
  compaction (410 Gone, relist) and a cluster that is down at start and comes up later;
- the EDA controller rulebook (remediate_awx.yml) launches the AWX/AAP remediate job template once, for the
  one release, with answers its survey takes, and that job remediates the release."""

import json
import socket
import time
import urllib.parse

import helmfix
from eda_run import AWX_RULEBOOK, EVENTS_RULEBOOK, REMEDIATE_RULEBOOK, Rulebook
from fleet_run import write_inventory
from localkube import LocalKube
from localkube.testing import raw

SECRET_VALUE = "s3cret-db-password-1f2e"


def test_stale_release_is_remediated_and_a_live_young_operation_gets_no_event(tmp_path, kube, real_helm, helm_bin):
    real_helm.install("web", "shop", values={"db_password": SECRET_VALUE})
    real_helm.install("api", "shop")
    stuck = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop")          # helm killed mid-upgrade
    inventory = write_inventory(tmp_path / "inventory.yml", {"eu": {
        "stuck_releases_kubeconfig": kube.kubeconfig, "stuck_releases_helm_binary": helm_bin}})
    min_age = 20
    with Rulebook(tmp_path, REMEDIATE_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kube.kubeconfig}],
                  min_age=min_age, inventory=inventory) as rb:
        # a live upgrade of api: pending while helm applies the chart, finished well before min_age
        fault = kube.faults.hang(path=r"/namespaces/shop/configmaps/api-config(\?|$)", method="PATCH", count=1)
        live = real_helm.start("upgrade", "api", "shop", chart=str(helmfix.CHART))
        assert kube.faults.wait_hanging(1, timeout=60), "the live helm upgrade never reached the server"
        assert helmfix.newest(kube, "shop", "api") == (2, "pending-upgrade")
        live_started = time.time()
        time.sleep(2)
        kube.faults.release(fault.id)
        assert live.wait(timeout=120) == 0, live.communicate()
        assert helmfix.newest(kube, "shop", "api") == (2, "deployed")

        rb.wait_for(lambda: helmfix.newest(kube, "shop", "web")[1] == "deployed", 240, "web remediated")
        # past api's min_age, with room for a late event
        time.sleep(max(0.0, live_started + min_age + 5 - time.time()))
        assert rb.emitted() == [("eu", "shop/web", stuck)], rb.output()[-4000:]
    assert SECRET_VALUE not in rb.output()
    assert helmfix.newest(kube, "shop", "web") == (stuck + 1, "deployed")   # helm rollback to the last good one
    assert real_helm.history("web", "shop")[-1] == (stuck + 1, "deployed")
    real_helm.upgrade("web", "shop")                                          # the lock is gone for real helm
    assert helmfix.newest(kube, "shop", "api") == (2, "deployed")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lists(server):
    """The source's lists (not watches) of release records this server answered."""
    return [r for r in server.requests if "labelSelector=owner" in r["path"] and "watch=true" not in r["path"]
            and r["method"] == "GET"]


def test_one_event_per_stuck_revision_through_rewrite_restart_410_and_a_cluster_down_at_start(
        tmp_path, kube, real_helm, helm_bin):
    from realhelm import RealHelm
    late = LocalKube(port=_free_port())                    # down at start: nothing listens on its port yet
    late.kubeconfig = str(late.write_kubeconfig(tmp_path / "late.kubeconfig"))
    real_helm.install("web", "shop")
    real_helm.install("api", "shop")
    web = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop")
    clusters = [{"name": "eu", "kubeconfig": kube.kubeconfig}, {"name": "us", "kubeconfig": late.kubeconfig}]
    with Rulebook(tmp_path, EVENTS_RULEBOOK, clusters=clusters, min_age=4,
                  source_args={"watch_timeout": 5, "max_backoff": 2}) as rb:
        rb.wait_for(lambda: rb.events(), 120, "the event of web on eu while us is down")
        assert rb.events() == [("eu", "shop", "web", web, "pending-upgrade")]

        # the record rewritten while still pending (a label patched): the same stuck revision
        path = "/api/v1/namespaces/shop/secrets/%s" % helmfix.record_name("web", web)
        code, _h, _b = raw(kube, "PATCH", path, {"metadata": {"labels": {"team": "payments"}}},
                           headers={"Content-Type": "application/merge-patch+json"})
        assert code == 200
        # the API server restarts mid-watch, and the changes it remembers are compacted meanwhile (410 Gone)
        lists_before = len(_lists(kube))
        kube.stop()
        kube.store.put({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "noise", "namespace": "default"}}, "configmaps")
        kube.store.compact()
        time.sleep(3)
        kube.start()
        api = helmfix.make_stuck_upgrade(real_helm, kube, "api", "shop")
        rb.wait_for(lambda: len(rb.events()) >= 2, 120, "the event of api after the restart")
        assert len(_lists(kube)) > lists_before, "no relist after 410 Gone"

        # the cluster that was down comes up; a release goes stuck there
        late.start()
        try:
            late_helm = RealHelm(late.kubeconfig, helm_bin)
            db = helmfix.make_stuck_install(late_helm, late, "db", "data")
            rb.wait_for(lambda: len(rb.events()) >= 3, 120, "the event of db on us")
            time.sleep(8)   # two min_ages and a watch renewal more: nothing doubled
        finally:
            late.stop()
    assert sorted(rb.events()) == sorted([("eu", "shop", "web", web, "pending-upgrade"),
                                          ("eu", "shop", "api", api, "pending-upgrade"),
                                          ("us", "data", "db", db, "pending-install")]), rb.output()[-4000:]
    out = rb.output()
    assert "cluster us" in out and "retrying" in out          # said that us was down, and went on
    assert "410 Gone" in out


def test_bad_source_arguments_fail_before_any_request(tmp_path, kube):
    rb = Rulebook(tmp_path, EVENTS_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kube.kubeconfig,
                                                        "context": "no-such-context"}], min_age=4)
    kube.requests.clear()
    with rb:
        deadline = time.time() + 120
        while rb.proc.poll() is None and time.time() < deadline:
            time.sleep(0.5)
    assert rb.proc.returncode not in (None, 0), rb.output()[-3000:]
    assert "no-such-context" in rb.output()
    assert not [r for r in kube.requests if "secrets" in r["path"]]


def test_min_age_must_be_a_duration(tmp_path, kube):
    rb = Rulebook(tmp_path, EVENTS_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kube.kubeconfig}],
                  min_age="soon")
    with rb:
        deadline = time.time() + 120
        while rb.proc.poll() is None and time.time() < deadline:
            time.sleep(0.5)
    assert rb.proc.returncode not in (None, 0)
    assert "min_age='soon'" in rb.output()


class FakeController:
    """What ansible-rulebook's run_job_template asks of an AWX/AAP controller (its config, the job template by
    name, a launch, the job's status), on 127.0.0.1; every launch is recorded, every job succeeds at once."""

    def __init__(self, template, organization="Default"):
        import http.server
        import threading
        self.launches = []
        controller = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, obj, code=200):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?")[0]
                if path == "/api/v2/config/":
                    return self._json({"version": "4.6.0"})
                if path == "/api/v2/unified_job_templates/":
                    return self._json({"next": None, "results": [{
                        "id": 7, "type": "job_template", "name": template,
                        "summary_fields": {"organization": {"name": organization}},
                        "related": {"launch": "/api/v2/job_templates/7/launch/"},
                        "ask_limit_on_launch": True, "ask_labels_on_launch": False,
                        "ask_inventory_on_launch": False, "ask_variables_on_launch": False}]})
                if path == "/api/v2/jobs/":
                    ids = [int(i) for i in urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["id__in"][0]
                           .split(",")]
                    return self._json({"next": None, "results": [
                        {"id": i, "status": "successful", "url": "/api/v2/jobs/%d/" % i, "artifacts": {}}
                        for i in ids]})
                return self._json({"detail": "Not found."}, 404)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/api/v2/job_templates/7/launch/":
                    return self._json({"detail": "Not found."}, 404)
                controller.launches.append(body)
                job = 100 + len(controller.launches)
                return self._json({"id": job, "job": job, "url": "/api/v2/jobs/%d/" % job, "status": "pending"}, 201)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_awx_rulebook_launches_the_remediate_template_for_the_one_release_and_that_job_remediates_it(
        tmp_path, kube, real_helm, helm_bin, monkeypatch):
    """remediate_awx.yml against a stand-in controller: one launch per stuck release, limited to its cluster,
    with survey answers the template's survey accepts; the job AWX would then run (remediate.yml with those
    variables and that limit) remediates it."""
    import awx_config
    from fleet_run import run_playbook
    template = awx_config.config()["helmops_awx_remediate_template"]
    controller = FakeController(template)
    monkeypatch.setenv("EDA_CONTROLLER_URL", controller.url)
    monkeypatch.setenv("EDA_CONTROLLER_TOKEN", "eda-token")
    real_helm.install("web", "shop")
    stuck = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop")
    try:
        with Rulebook(tmp_path, AWX_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kube.kubeconfig}],
                      min_age=4) as rb:
            rb.wait_for(lambda: controller.launches, 120, "a launch of the remediate job template")
            time.sleep(6)   # one launch, not a storm
    finally:
        controller.close()
    assert len(controller.launches) == 1, controller.launches
    launch = controller.launches[0]
    assert launch["limit"] == "eu"
    assert launch["extra_vars"]["stuck_releases_namespaces"] == "shop"
    assert launch["extra_vars"]["stuck_releases_releases"] == "web"
    assert launch["extra_vars"]["stuck_releases_min_age"] == "4s"
    # EDA's own variables (ansible_eda) aside, the launch answers the survey (AWX refuses other variables)
    answers = {k: v for k, v in launch["extra_vars"].items() if k != "ansible_eda"}
    extra = awx_config.job_extra_vars(template, answers)
    inventory = write_inventory(tmp_path / "inventory.yml", {
        "eu": {"stuck_releases_kubeconfig": kube.kubeconfig, "stuck_releases_helm_binary": helm_bin},
        "us": {"stuck_releases_kubeconfig": str(tmp_path / "absent"), "stuck_releases_helm_binary": helm_bin}})
    job = run_playbook(tmp_path, awx_config.ROOT / "playbooks" / "remediate.yml", inventory,
                       extra=dict(extra, stuck_releases_report_dir=str(tmp_path / "job-report")),
                       extra_args=["--limit", launch["limit"]])
    assert job.rc == 0, job.text[-3000:]
    assert "eu" in job.recap and "us" not in job.recap, job.recap      # the limit kept the other cluster out
    assert helmfix.newest(kube, "shop", "web") == (stuck + 1, "deployed")
