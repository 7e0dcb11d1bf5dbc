"""``connector init``: a working folder an operator can start from."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from connector.config import CONFIG_NAME, FolderSettings
from connector.errors import ConfigError

DATA = resources.files("connector") / "data"


def template_text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def init_workspace(
    folder: Path, *, force: bool = False, config_text: str | None = None
) -> list[Path]:
    """Write connector.toml, the folders and the example mappings; never clobber mappings."""
    folder.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    config = folder / CONFIG_NAME
    if config.exists() and not force:
        raise ConfigError([f"{config} exists already: edit it, or use --force to replace it"])
    config.write_text(config_text or template_text(CONFIG_NAME), encoding="utf-8")
    created.append(config)
    for name in FolderSettings().model_dump().values():
        path = folder / name
        if not path.exists():
            path.mkdir(parents=True)
            created.append(path)
    mappings = folder / "mappings"
    for source in (DATA / "mappings").iterdir():
        target = mappings / source.name
        if source.name.endswith(".toml") and not target.exists():
            with resources.as_file(source) as real:
                shutil.copyfile(real, target)
            created.append(target)
    return created
