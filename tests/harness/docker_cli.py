"""The docker CLIs the compatibility tests drive: Debian's docker.io 20.10, always (the install
step puts it there; missing, it fails in CI), and a second CLI (docker 28.x) in addition when
this machine has one.

The second CLI is $CAPSULE_TEST_DOCKER2 when set (a path; `none` hides it), otherwise
/usr/local/bin/docker; it counts only when executable. When it is absent every test runs with
20.10 alone and the harness says so once per test process (NO_SECOND_CLI, on stderr).
"""

import os
import sys
import unittest

DOCKER_20 = "/usr/bin/docker"  # Debian's docker.io 20.10, which scripts/install-deps.sh installs
DEFAULT_DOCKER_2 = "/usr/local/bin/docker"  # docker 28.x, installed by hand: not a Debian package
NO_SECOND_CLI = "docker 28.x: not on this machine — compatibility ran with 20.10 only"


def second_cli_path(environ=None):
    """The second CLI's path when it is present and executable, else None."""
    environ = os.environ if environ is None else environ
    path = environ.get("CAPSULE_TEST_DOCKER2") or DEFAULT_DOCKER_2
    if path == "none" or not os.access(path, os.X_OK):
        return None
    return path


DOCKER_2 = second_cli_path()
# Every CLI a compatibility test runs with: 20.10 first, then the second CLI when present.
DOCKER_CLIS = (DOCKER_20,) + ((DOCKER_2,) if DOCKER_2 else ())
# For a test that drives one step with each CLI: the second CLI, or 20.10 when it is absent.
OTHER_CLI = DOCKER_2 or DOCKER_20


def cli_label(cli):
    """A short name for messages and tags: "20" for 20.10, "2" for the second CLI."""
    return "20" if cli == DOCKER_20 else "2"


def report_second_cli(stream=None):
    """Prints NO_SECOND_CLI when the second CLI is absent (called once, at harness import)."""
    if DOCKER_2 is None:
        print(NO_SECOND_CLI, file=stream or sys.stderr, flush=True)


def require_docker_cli(cli):
    """For a test class's setUpClass: returns when the docker CLI `cli` can run; otherwise the
    class is skipped (unittest.SkipTest, reported) — except that in CI (CI=true) a missing
    Debian docker.io CLI is an error, so the compatibility tests cannot quietly stop running
    there. The second CLI is never required (nothing installs it): `cli` None (DOCKER_2 on a
    machine without one) skips with NO_SECOND_CLI as the reason."""
    if cli is None:
        raise unittest.SkipTest(NO_SECOND_CLI)
    if os.access(cli, os.X_OK):
        return
    if cli == DOCKER_20 and os.environ.get("CI") == "true":
        raise RuntimeError(f"{cli} (Debian's docker.io) is missing in CI; "
                           "scripts/install-deps.sh installs it")
    raise unittest.SkipTest(f"{cli} not installed")
