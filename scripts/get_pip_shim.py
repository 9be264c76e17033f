# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test fetches get-pip from a host this network cannot reach, only to
put pip into its empty sanity venvs. Python's own ensurepip does the same; the
pinned pip ansible-test asks for then comes from the package index. The venv
also gets a pip.conf naming the system CA bundle, since ansible-test runs pip
with a stripped environment and the index is reached through a TLS proxy.
"""
import ensurepip
import os
import subprocess
import sys

for bundle in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
    if bundle and os.path.isfile(bundle):
        with open(os.path.join(sys.prefix, "pip.conf"), "w") as conf:
            conf.write("[global]\ncert = %s\n" % bundle)
        break
ensurepip.bootstrap(upgrade=False)
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip sets it to os.devnull
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
