# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m localkube``: run a server until SIGINT/SIGTERM; print its URL."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from . import LocalKube


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="localkube", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--token", action="append", default=[],
                   help="full-access bearer token (repeatable); enables auth")
    p.add_argument("--tokens-json", help="JSON file: {token: rule-or-null}; enables auth")
    p.add_argument("--kubeconfig", help="write a kubeconfig here")
    p.add_argument("--namespace", help="namespace for the kubeconfig context")
    p.add_argument("--state-file", help="load objects from / save them to this JSON file")
    p.add_argument("--clock-offset", type=float, default=0.0, help="seconds added to server time")
    args = p.parse_args(argv)
    tokens = None
    if args.token or args.tokens_json:
        tokens = {t: None for t in args.token}
        if args.tokens_json:
            with open(args.tokens_json) as f:
                tokens.update(json.load(f))
    kube = LocalKube(tls=args.tls, tokens=tokens, clock_offset_seconds=args.clock_offset,
                     port=args.port, host=args.host, state_file=args.state_file).start()
    if args.kubeconfig:
        kube.write_kubeconfig(args.kubeconfig, namespace=args.namespace)
    print(kube.url, flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    kube.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
