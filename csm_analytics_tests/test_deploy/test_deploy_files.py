"""What this machine can test of deploy/ without a Docker engine or a Kubernetes cluster.

The image's install step (deploy/install.sh) runs for real into a fresh virtualenv from the files the
Dockerfile copies; the entrypoint (deploy/entrypoint.sh) resolves each role and, for `check`, loads the
prod definitions. The compose file and the Helm values are parsed and checked for what they must hold.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _dockerfile_copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY in the Dockerfile."""
    copies = []
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            *sources, dest = line.split()[1:]
            copies.append((sources, dest))
    return copies


def _build_context_like_docker(tmp_path: Path) -> tuple[Path, Path]:
    """Copy what the Dockerfile COPYs into an app dir and a deploy dir, as `docker build` would."""
    app, deploy = tmp_path / "app", tmp_path / "deploy"
    app.mkdir()
    deploy.mkdir()
    for sources, dest in _dockerfile_copies():
        for source in sources:
            src = ROOT / source
            assert src.exists(), f"the Dockerfile copies {source}, which is not in the repo"
            target = deploy if dest.startswith("/opt/dagster/deploy") else app
            if src.is_dir():
                shutil.copytree(src, target / src.name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, target / src.name)
    return app, deploy


def test_install_step_installs_the_package_with_its_data_files(tmp_path):
    app, deploy = _build_context_like_docker(tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # --no-deps: the dependencies are resolved by the image build, not re-downloaded by every test run; the
    # package itself is built and installed exactly as in the image (isolated build, non-editable)
    env = dict(os.environ, PYTHON=str(python), PIP_INSTALL_ARGS="--no-deps")
    out = subprocess.run(["sh", str(deploy / "install.sh"), str(app)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "installed csm_analytics" in out.stdout
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    installed = site / "csm_analytics"
    assert (installed / "definitions.py").exists() and (installed / "health" / "health_config.toml").exists()
    assert not list(site.glob("__editable__*")), "the image must not depend on the source tree"
    assert (env_dir / "bin" / "csm-analytics").exists()


def _entrypoint(args: list[str], env: dict, dry_run: bool = True) -> subprocess.CompletedProcess:
    env = {**env, "DRY_RUN": "1" if dry_run else "0",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["sh", str(DEPLOY / "entrypoint.sh"), *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_entrypoint_roles_and_seeded_instance_config(tmp_path):
    home = tmp_path / "dagster_home"
    env = {"DAGSTER_HOME": str(home), "CSM_DATA_DIR": str(tmp_path / "data")}
    assert _entrypoint(["code-server"], env).stdout.split() == [
        "dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "csm_analytics.definitions"]
    assert _entrypoint([], env).stdout.split()[:3] == ["dagster", "code-server", "start"]  # the image's CMD
    assert _entrypoint(["webserver"], env).stdout.split() == [
        "dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", str(DEPLOY / "workspace.yaml")]
    assert _entrypoint(["daemon"], env).stdout.split() == ["dagster-daemon", "run", "-w", str(DEPLOY / "workspace.yaml")]
    helm_args = ["dagster", "api", "grpc", "--module-name", "csm_analytics.definitions"]
    assert _entrypoint(helm_args, env).stdout.split() == helm_args  # the chart passes its own command
    assert (home / "dagster.yaml").read_text() == (DEPLOY / "dagster.yaml").read_text()
    assert (tmp_path / "data").is_dir()
    (home / "dagster.yaml").write_text("# an operator's edit\n")
    _entrypoint(["daemon"], env)
    assert (home / "dagster.yaml").read_text() == "# an operator's edit\n", "an existing dagster.yaml is kept"
    missing = _entrypoint(["daemon"], {"PATH": os.environ["PATH"]})
    assert missing.returncode != 0 and "DAGSTER_HOME must be set" in missing.stderr


def test_entrypoint_check_loads_the_prod_definitions(tmp_path):
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "CSM_ENV": "prod", "CSM_DATA_DIR": str(tmp_path / "data"),
           "CSM_WAREHOUSE": str(tmp_path / "data" / "warehouse.duckdb"), "SLACK_BOT_TOKEN": "xoxb-check",
           "HOME": str(tmp_path)}
    out = _entrypoint(["check"], env, dry_run=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "prod definitions load" in out.stdout
    env.pop("SLACK_BOT_TOKEN")
    out = _entrypoint(["check"], env, dry_run=False)
    assert out.returncode != 0 and "CSM_ENV=prod needs SLACK_BOT_TOKEN" in out.stderr


def test_compose_has_the_four_services_on_one_image_with_secrets_from_env():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "code-server", "webserver", "daemon"}
    assert services["code-server"]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    images = {services[s]["image"] for s in ("code-server", "webserver", "daemon")}
    assert len(images) == 1
    assert [services[s]["command"] for s in ("code-server", "webserver", "daemon")] == [
        ["code-server"], ["webserver"], ["daemon"]]
    env = services["daemon"]["environment"]
    assert env["CSM_ENV"] == "prod" and env["DAGSTER_PG_HOST"] == "postgres"
    text = (DEPLOY / "docker-compose.yaml").read_text()
    for secret in ("SLACK_BOT_TOKEN", "DAGSTER_PG_PASSWORD"):
        assert re.search(rf"{secret}: \$\{{{secret}:\?", text), f"{secret} must come from the environment"
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["grpc_server"]["host"] == "code-server"
    assert workspace["load_from"][0]["grpc_server"]["port"] == 4000
    assert "/data" in " ".join(services["code-server"]["volumes"])


def test_helm_values_use_k8s_run_launcher_and_the_image_as_a_user_deployment():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    deployment, = values["dagster-user-deployments"]["deployments"]
    module = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module]
    assert deployment["image"]["repository"] and deployment["image"]["tag"] == "0.1.0"
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["CSM_ENV"] == "prod" and env["CSM_WAREHOUSE"].startswith("md:")
    assert deployment["envSecrets"] == values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == 1
    assert values["concurrency"]["pools"]["defaultLimit"] == 1
    assert "maxConcurrentRuns" not in str(values["dagsterDaemon"]), "Dagster rejects it next to `concurrency`"
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert "0.1.0" in (DEPLOY / "docker-compose.yaml").read_text()  # the same image tag as compose builds
