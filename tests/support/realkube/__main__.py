# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m realkube``: run a real kube-apiserver + etcd until SIGINT/SIGTERM; print its URL."""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading

from . import RealKube


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="realkube", description=__doc__)
    parser.add_argument("--kubeconfig", help="copy the admin kubeconfig (contexts realkube, reader, team-a) here")
    parser.add_argument("--dir", help="keep certificates, logs and etcd data here (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    kube = RealKube(workdir=args.dir).start()
    try:
        if args.kubeconfig:
            shutil.copyfile(kube.kubeconfig, args.kubeconfig)
        print(kube.url, flush=True)
        print("realkube: ready in %.1f s (kube-apiserver pid %d, etcd pid %d)" % (
            kube.start_seconds, kube.apiserver.pid, kube.etcd.pid), file=sys.stderr, flush=True)
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        done.wait()
    finally:
        kube.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
