"""Stages fail on bad input with one clear message, a non-zero exit and no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_stage(stage: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_ROOT": str(cwd)}
    return subprocess.run([sys.executable, "-m", f"poetry_rnn.stages.{stage}"], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_bad_params_stop_a_stage_with_one_message_before_any_work(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"]["head"] = 8
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = run_stage("download_glove", tmp_path)
    assert proc.returncode == 2
    assert "model.head: unknown key; did you mean model.heads?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "mlflow.db").exists()


def test_missing_upstream_output_names_the_stage_to_run(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    proc = run_stage("chunk", tmp_path)
    assert proc.returncode == 2 and "dvc repro preprocess" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "data/chunks").exists()
