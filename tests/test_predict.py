"""`emotag predict` as a person runs it: nothing on standard error but real problems."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# What TensorFlow prints at start-up on a CPU-only machine (emotag.config.quiet_tensorflow).
NOISE = ("cuinit", "cuda", "onednn", "absl::initializelog", "cpu_feature_guard", "tf-trt")


@pytest.mark.slow
def test_predict_prints_no_tensorflow_start_up_noise(tiny_run_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}  # not muted
    proc = subprocess.run(
        [sys.executable, "-m", "emotag", "predict", "--model", str(tiny_run_dir), "thanks"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0] == "thanks" and "->" in proc.stdout
    noisy = [line for line in proc.stderr.splitlines() if any(n in line.lower() for n in NOISE)]
    assert not noisy, "\n".join(noisy)
