"""What one step hands to the next: small JSON files, so Azure ML can pass them as uri_folder outputs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CANDIDATE_FILE = "candidate.json"
VERDICT_FILE = "verdict.json"
REGISTERED_FILE = "registered.json"


@dataclass(frozen=True)
class Candidate:
    """A trained model that is not registered yet."""

    run_id: str
    model_uri: str

    def write(self, folder: Path) -> Path:
        return _write(folder / CANDIDATE_FILE, asdict(self))

    @classmethod
    def read(cls, folder: Path) -> Candidate:
        return cls(**json.loads((folder / CANDIDATE_FILE).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one candidate, against the champion it saw (None for a first model)."""

    passed: bool
    model_uri: str
    champion_version: str | None
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        return _write(folder / VERDICT_FILE, asdict(self))

    @classmethod
    def read(cls, folder: Path) -> Verdict:
        return cls(**json.loads((folder / VERDICT_FILE).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Registration:
    """The registered version: what CD promotes to the registry (aml/promote.yml) and deploys."""

    model_name: str
    version: str
    model_uri: str

    def write(self, folder: Path) -> Path:
        return _write(folder / REGISTERED_FILE, asdict(self))


def _write(path: Path, content: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
