"""Checks of the harness itself that need no daemon (CTest harness.selftest, label unit)."""

import io
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

    def test_missing_second_cli_is_a_skip_even_in_ci(self):
        with mock.patch.dict(os.environ, {"CI": "true"}):
            with self.assertRaises(unittest.SkipTest):
                harness.require_docker_cli(MISSING)

    def test_an_absent_second_cli_skips_with_the_plain_reason(self):
        with mock.patch.dict(os.environ, {"CI": "true"}):
            with self.assertRaisesRegex(unittest.SkipTest, "ran with 20.10 only"):
                harness.require_docker_cli(None)


class SecondCliTest(unittest.TestCase):
    def test_docker2_names_the_second_cli(self):
        self.assertEqual(docker_cli.second_cli_path({"CAPSULE_TEST_DOCKER2": "/bin/sh"}),
                         "/bin/sh")

    def test_none_hides_the_second_cli(self):
        self.assertIsNone(docker_cli.second_cli_path({"CAPSULE_TEST_DOCKER2": "none"}))

    def test_a_missing_path_means_no_second_cli(self):
        self.assertIsNone(docker_cli.second_cli_path({"CAPSULE_TEST_DOCKER2": MISSING}))

    def test_unset_means_usr_local_bin_docker(self):
        expected = "/usr/local/bin/docker" if os.access("/usr/local/bin/docker", os.X_OK) else None
        self.assertEqual(docker_cli.second_cli_path({}), expected)

    def test_20_10_comes_first_and_always(self):
        self.assertEqual(harness.DOCKER_CLIS[0], harness.DOCKER_20)
        self.assertEqual(len(harness.DOCKER_CLIS), 2 if harness.DOCKER_2 else 1)
        self.assertEqual(harness.OTHER_CLI, harness.DOCKER_2 or harness.DOCKER_20)

    def test_absence_is_reported_plainly(self):
        out = io.StringIO()
        with mock.patch.object(docker_cli, "DOCKER_2", None):
            docker_cli.report_second_cli(out)
        self.assertEqual(out.getvalue(), "docker 28.x: not on this machine — compatibility ran "
                                         "with 20.10 only\n")

    def test_presence_prints_nothing(self):
        out = io.StringIO()
        with mock.patch.object(docker_cli, "DOCKER_2", "/bin/sh"):
            docker_cli.report_second_cli(out)
        self.assertEqual(out.getvalue(), "")


class FormatsTest(unittest.TestCase):
    def test_demux_stream_drops_the_frame_headers(self):
        frames = b"\x01\x00\x00\x00\x00\x00\x00\x03out" + b"\x02\x00\x00\x00\x00\x00\x00\x04err\n"
        self.assertEqual(harness.demux_stream(frames), b"outerr\n")

    def test_b64_takes_text_and_bytes(self):
        self.assertEqual(harness.b64("s3cr3t"), harness.b64(b"s3cr3t"))
        self.assertEqual(harness.b64(b"\xff"), "/w==")


if __name__ == "__main__":
    unittest.main()
