"""Which files in a raw folder the demo generator owns, so it never overwrites or deletes anything else.

The generator lists every file it writes, with its size, in `_manifest.json`. A file in the folder that the
manifest does not list (or whose size changed since it was written) is the user's: regeneration refuses to
overwrite it and never deletes it, and `csm-analytics materialize` treats the folder as bring-your-own data.
"""

from __future__ import annotations

import json
from pathlib import Path

from csm_analytics.canonical import schemas

MANIFEST = "_manifest.json"
TRUTH_DIR = "_truth"


class ForeignFilesError(RuntimeError):
    """The folder holds files the generator did not write, and generating would overwrite or shadow them."""


def read_manifest(out: Path) -> dict | None:
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, OSError):
        return None


def owned_files(out: Path) -> dict[str, int | None]:
    """Relative path -> size of the files the manifest says the generator wrote (size None: older manifests)."""
    manifest = read_manifest(out)
    if manifest is None:
        return {}
    if "files" in manifest:
        return dict(manifest["files"])
    # Manifests written before files were listed: the generator then wrote exactly these.
    owned = {f"{name}.parquet": None for name in schemas.CANONICAL_TABLES}
    owned.update({f"{TRUTH_DIR}/{p.name}": None for p in (Path(out) / TRUTH_DIR).glob("*.parquet")})
    return owned


def _files(out: Path) -> list[str]:
    out = Path(out)
    if not out.exists():
        return []
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)


def foreign_files(out: Path) -> list[str]:
    """Files in `out` (relative paths) that the generator did not write, or that changed since it wrote them."""
    owned = owned_files(out)
    foreign = []
    for rel in _files(out):
        size = owned.get(rel, -1)
        if size == -1 or (size is not None and (Path(out) / rel).stat().st_size != size):
            foreign.append(rel)
    return foreign


def missing_tables(out: Path) -> list[str]:
    """Canonical tables with neither a Parquet nor a CSV file in `out`."""
    return [t for t in schemas.CANONICAL_TABLES
            if not (Path(out) / f"{t}.parquet").exists() and not (Path(out) / f"{t}.csv").exists()]


def world_is_current(spec, out: Path) -> bool:
    """The folder holds the world of `spec`, every file as the generator wrote it (other files may sit beside it)."""
    manifest = read_manifest(out)
    if manifest is None or manifest.get("spec") != spec.manifest():
        return False
    owned = owned_files(out)
    if any(f"{name}.parquet" not in owned for name in schemas.CANONICAL_TABLES):
        return False  # written by an older generator that lacked a table
    changed = set(foreign_files(out))
    return all((Path(out) / rel).exists() and rel not in changed for rel in owned)


def check_can_generate(out: Path, writes: list[str]) -> None:
    """Refuse when generating would overwrite a user's file, or put a Parquet file beside a user's CSV of that table."""
    foreign = set(foreign_files(out))
    clashes = sorted(rel for rel in foreign if rel in writes
                     or (rel.endswith(".csv") and rel[:-4] + ".parquet" in writes))
    if clashes:
        raise ForeignFilesError(
            f"{out} holds files the demo generator did not write: {', '.join(clashes)}. Generating would overwrite "
            f"or shadow them, so nothing was written. Generate into another folder (--out DIR), or move your files "
            f"away; to load them as your own data, run `csm-analytics materialize --skip-generate`.")


def remove_owned(out: Path) -> None:
    """Delete only the files the previous manifest lists (never anything else), then the manifest itself."""
    out = Path(out)
    foreign = set(foreign_files(out))
    for rel in owned_files(out):
        path = out / rel
        if rel not in foreign and path.is_file():
            path.unlink()
    if (out / MANIFEST).exists():
        (out / MANIFEST).unlink()


def manifest_text(spec, counts: dict[str, int], out: Path, written: list[str]) -> str:
    files = {rel: (Path(out) / rel).stat().st_size for rel in written}
    return json.dumps({"spec": spec.manifest(), "rows": counts, "files": files}, indent=2, sort_keys=True)
