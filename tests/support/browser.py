# SPDX-License-Identifier: GPL-3.0-or-later
"""Headless Chromium driven over the DevTools protocol (no selenium needed: the
``websocket-client`` package comes with ``kubernetes``).

    with Chromium() as browser:
        browser.open(Path("report.html"))
        browser.evaluate("document.title")
        browser.click("#releases th[data-key=age_seconds]")   # a real mouse click
        browser.screenshot(Path("shot.png"))
"""

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-port=0"]


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(Exception):
    pass


class Chromium:
    def __init__(self, binary=None, width=1280, height=900, timeout=30):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("chromium not found (scripts/bootstrap installs it as root)")
        self.size = (width, height)
        self.timeout = timeout
        self.proc = None
        self.ws = None
        self.profile = None
        self.ids = itertools.count(1)
        self.errors = []

    # -- lifecycle --------------------------------------------------------
    def __enter__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        cmd = [self.binary] + FLAGS + ["--user-data-dir=%s" % self.profile,
                                       "--window-size=%d,%d" % self.size, "about:blank"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + self.timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise BrowserError("chromium exited: %s" % self.proc.stderr.read().decode(errors="replace"))
            if time.time() > deadline:
                raise BrowserError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as resp:
            pages = [t for t in json.load(resp) if t.get("type") == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=self.timeout,
                                              suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def __exit__(self, *exc):
        try:
            if self.ws is not None:
                self.ws.close()
        finally:
            if self.proc is not None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                self.proc.stderr.close()
            if self.profile:
                shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ---------------------------------------------------------
    def _event(self, msg):
        if msg.get("method") == "Runtime.exceptionThrown":
            self.errors.append(msg["params"]["exceptionDetails"])
        elif msg.get("method") == "Runtime.consoleAPICalled" and msg["params"].get("type") == "error":
            self.errors.append(msg["params"])

    def call(self, method, **params):
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == ident:
                if "error" in msg:
                    raise BrowserError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self._event(msg)

    def wait_event(self, method):
        while True:
            msg = json.loads(self.ws.recv())
            self._event(msg)
            if msg.get("method") == method:
                return msg.get("params", {})

    # -- helpers ----------------------------------------------------------
    def open(self, path):
        self.call("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError("%s: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def click(self, selector):
        """A real mouse click in the middle of the element."""
        box = self.evaluate("(function(){var r=document.querySelector(%s).getBoundingClientRect();"
                            "return [r.left + r.width / 2, r.top + r.height / 2];})()" % json.dumps(selector))
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            extra = {"button": "left", "clickCount": 1} if kind != "mouseMoved" else {}
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], **extra)

    def screenshot(self, path, full_page=True):
        params = {"format": "png"}
        if full_page:
            height = self.evaluate("Math.ceil(document.documentElement.scrollHeight)")
            self.call("Emulation.setDeviceMetricsOverride", width=self.size[0], height=max(height, 200),
                      deviceScaleFactor=1, mobile=False)
        data = self.call("Page.captureScreenshot", **params)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return path


def available():
    return find_chromium() is not None and os.access(find_chromium(), os.X_OK)
