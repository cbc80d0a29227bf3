"""The two docker CLIs the compatibility tests drive, and what to do when one is missing."""

import os
import unittest

DOCKER_28 = "/usr/local/bin/docker"  # docker 28.2, installed by hand: not a Debian package
DOCKER_20 = "/usr/bin/docker"  # Debian's docker.io 20.10, which scripts/install-deps.sh installs


def require_docker_cli(cli):
    """For a test class's setUpClass: returns when the docker CLI `cli` can run; otherwise the
    class is skipped (unittest.SkipTest, reported) — except that in CI (CI=true) a missing
    Debian docker.io CLI is an error, so the compatibility tests cannot quietly stop running
    there. docker 28 is never required (nothing installs it)."""
    if os.access(cli, os.X_OK):
        return
    if cli == DOCKER_20 and os.environ.get("CI") == "true":
        raise RuntimeError(f"{cli} (Debian's docker.io) is missing in CI; "
                           "scripts/install-deps.sh installs it")
    raise unittest.SkipTest(f"{cli} not installed")
