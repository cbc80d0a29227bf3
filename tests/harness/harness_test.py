"""Checks of the harness itself that need no daemon (CTest harness.selftest, label unit)."""

import os
import unittest
from unittest import mock

import harness
from harness import docker_cli

MISSING = "/nonexistent/docker"


class RequireDockerCliTest(unittest.TestCase):
    def test_an_installed_cli_is_used(self):
        harness.require_docker_cli("/bin/sh")  # any executable

    def test_missing_docker_20_skips_outside_ci(self):
        with mock.patch.object(docker_cli, "DOCKER_20", MISSING), \
                mock.patch.dict(os.environ, {"CI": ""}):
            with self.assertRaises(unittest.SkipTest):
                harness.require_docker_cli(MISSING)

    def test_missing_docker_20_fails_in_ci(self):
        with mock.patch.object(docker_cli, "DOCKER_20", MISSING), \
                mock.patch.dict(os.environ, {"CI": "true"}):
            with self.assertRaisesRegex(RuntimeError, "missing in CI"):
                harness.require_docker_cli(MISSING)

    def test_missing_docker_28_is_a_skip_even_in_ci(self):
        with mock.patch.object(docker_cli, "DOCKER_28", MISSING), \
                mock.patch.dict(os.environ, {"CI": "true"}):
            with self.assertRaises(unittest.SkipTest):
                harness.require_docker_cli(MISSING)


class FormatsTest(unittest.TestCase):
    def test_demux_stream_drops_the_frame_headers(self):
        frames = b"\x01\x00\x00\x00\x00\x00\x00\x03out" + b"\x02\x00\x00\x00\x00\x00\x00\x04err\n"
        self.assertEqual(harness.demux_stream(frames), b"outerr\n")

    def test_b64_takes_text_and_bytes(self):
        self.assertEqual(harness.b64("s3cr3t"), harness.b64(b"s3cr3t"))
        self.assertEqual(harness.b64(b"\xff"), "/w==")


if __name__ == "__main__":
    unittest.main()
