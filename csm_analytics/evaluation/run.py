"""Generate and materialize each evaluation world in its own process and data folder, then measure it.

A world's result is saved as JSON beside its data (`<work>/seed-<seed>-<accounts>x<csms>/result.json`) as soon
as it is measured, so an interrupted run resumes with the worlds still missing (`--resume`) and the report can be
re-rendered from saved results without rerunning anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Every group the figures need; reports/ (QBR packs, the executive report) add run time and no model figure.
GROUPS = ["sources", "health", "alerts", "portfolio", "churn", "expansion"]


def world_dir(work: Path, seed: int, accounts: int, csms: int) -> Path:
    return Path(work) / f"seed-{seed}-{accounts}x{csms}"


MATERIALIZED = "materialized.json"  # written once the world's warehouse is complete: a re-run only measures it


def evaluate_world(seed: int, accounts: int, csms: int, folder: str) -> dict:
    """In a fresh process: generate the world, materialize every group into `folder`, measure it, save result.json.

    A world materialized by an earlier run for the same (seed, accounts, csms) is measured again, not rebuilt."""
    folder = Path(folder)
    os.environ.update(CSM_DATA_DIR=str(folder), CSM_ENV="ci")  # the outbox, never Slack
    for var in ("CSM_RAW_DIR", "CSM_WAREHOUSE", "CSM_HISTORY_START", "CSM_HISTORY_END", "CSM_TRAINING_START"):
        os.environ.pop(var, None)
    from dagster import DagsterInstance

    from csm_analytics.definitions import build_definitions
    from csm_analytics.evaluation.measure import measure_world
    from csm_analytics.lib import paths
    from csm_analytics.runner import materialize_everything
    from csm_analytics.world.generator import generate_world
    from csm_analytics.world.spec import WorldSpec

    world = {"seed": seed, "accounts": accounts, "csms": csms}
    done = folder / MATERIALIZED
    if done.exists() and {k: v for k, v in json.loads(done.read_text()).items() if k in world} == world:
        timing = json.loads(done.read_text())
    else:
        done.unlink(missing_ok=True)
        for leftover in folder.glob("warehouse.duckdb*"):
            leftover.unlink()
        for name in ("alerts", "models", "outbox"):
            shutil.rmtree(folder / name, ignore_errors=True)
        started = time.perf_counter()
        generate_world(WorldSpec(accounts=accounts, csms=csms, seed=seed), paths.raw_dir(), progress=False)
        generated = time.perf_counter()
        ok = materialize_everything(instance=DagsterInstance.ephemeral(), definitions=build_definitions(),
                                    groups=GROUPS, verbose=True)
        if not ok:
            raise RuntimeError(f"materializing world seed {seed} failed; rerun `csm-analytics materialize` with "
                               f"CSM_DATA_DIR={folder} to see which asset")
        timing = {**world, "generate_seconds": round(generated - started, 1),
                  "materialize_seconds": round(time.perf_counter() - generated, 1)}
        done.write_text(json.dumps(timing))
    measuring = time.perf_counter()
    result = measure_world(paths.warehouse_path(), paths.raw_dir())
    result["world"] = {**timing, "measure_seconds": round(time.perf_counter() - measuring, 1)}
    (folder / "result.json").write_text(json.dumps(result))
    return result["world"]


def run_worlds(seeds: list[int], accounts: int, csms: int, work: Path, resume: bool = False,
               log=print) -> list[dict]:
    """Every world's saved result, running the missing ones one after another (each in a subprocess)."""
    results = []
    for i, seed in enumerate(seeds, 1):
        folder = world_dir(work, seed, accounts, csms)
        saved = folder / "result.json"
        if resume and saved.exists():
            log(f"[{i}/{len(seeds)}] seed {seed}: saved result reused ({saved})")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            saved.unlink(missing_ok=True)
            log(f"[{i}/{len(seeds)}] seed {seed}: generating and materializing {accounts:,} accounts x {csms} CSMs "
                f"in {folder} ...")
            started = time.perf_counter()
            with open(folder / "materialize.log", "w") as log_file:
                child = subprocess.run([sys.executable, "-m", "csm_analytics.evaluation", "--world-child",
                                        str(seed), str(accounts), str(csms), str(folder)],
                                       stdout=log_file, stderr=subprocess.STDOUT, text=True)
            if child.returncode != 0:
                tail = (folder / "materialize.log").read_text()[-3000:]
                raise RuntimeError(f"world seed {seed} failed (log: {folder / 'materialize.log'}):\n{tail}")
            log(f"[{i}/{len(seeds)}] seed {seed}: done in {time.perf_counter() - started:.0f} s")
        results.append(json.loads(saved.read_text()))
    return results
