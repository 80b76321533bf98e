"""What one step hands to the next: small JSON files, so Azure ML can pass them as uri_folder outputs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar, Self


class HandOff:
    """A dataclass saved as `FILE` inside a step's output folder."""

    FILE: ClassVar[str]

    def write(self, folder: Path) -> Path:
        path = folder / self.FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, folder: Path) -> Self:
        return cls(**json.loads((folder / cls.FILE).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Candidate(HandOff):
    """A trained model that is not registered yet."""

    FILE: ClassVar[str] = "candidate.json"
    run_id: str
    model_uri: str


@dataclass(frozen=True)
class Verdict(HandOff):
    """The gate's decision on one candidate, against the champion it saw (None for a first model)."""

    FILE: ClassVar[str] = "verdict.json"
    passed: bool
    model_uri: str
    champion_version: str | None
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Registration(HandOff):
    """The registered version: what CD promotes to the registry (aml/promote.yml) and deploys."""

    FILE: ClassVar[str] = "registered.json"
    model_name: str
    version: str
    model_uri: str
