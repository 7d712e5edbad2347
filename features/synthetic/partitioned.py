"""A national synthetic extract, written one département at a time.

Each partition is a complete extract in the contract's form, in a folder named
``departement=CODE`` (the code starts the UAI of each of its schools, as in real UAIs), and
holds every row of its pupils: the rule of a partitioned extract (see
:mod:`features.ingest.partitions`). Partitions are simulated independently, so memory is
bounded by one partition, and in parallel worker processes when asked. They share one INE
sequence and take disjoint ranges of it, so no two pupils of the country share an INE.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from features.ingest import PARTITION_KEY, map_in_workers, partition_name
from features.synthetic.generator import SynthConfig, SynthSummary, synthesise

#: The 101 départements' codes as they start UAIs (Corse: 620 and 720; overseas: 97x).
DEPARTEMENTS = (*(f"{d:03d}" for d in range(1, 96) if d != 20), "620", "720", "971", "972", "973", "974", "976")
#: Room in the shared INE sequence (10**10 positions) for each partition's pupils, simulated
#: cohorts included: every département's range fits in the sequence.
_PUPILS_PER_PARTITION_BOUND = 10**10 // len(DEPARTEMENTS)


@dataclass
class PartitionedSummary:
    """What a partitioned synthesis wrote: one summary per partition, totalled on demand."""

    out_dir: str
    partitions: dict[str, SynthSummary] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def pupils(self) -> int:
        """Pupils across every partition."""
        return sum(s.pupils for s in self.partitions.values())

    @property
    def schools(self) -> int:
        """Schools across every partition."""
        return sum(s.schools for s in self.partitions.values())

    @property
    def rows(self) -> dict[str, int]:
        """Rows written per table across every partition."""
        total: dict[str, int] = {}
        for summary in self.partitions.values():
            for table, rows in summary.rows.items():
                total[table] = total.get(table, 0) + rows
        return total


def partition_configs(config: SynthConfig, partitions: int) -> dict[str, SynthConfig]:
    """One config per département: an equal share of the pupils, its own seed and UAI prefix,
    and its range of the shared INE sequence."""
    if not 1 <= partitions <= len(DEPARTEMENTS):
        raise ValueError(
            f"The 'partitions' parameter must lie between 1 and {len(DEPARTEMENTS)} (the départements). "
            f"Got {partitions} instead."
        )
    shares = np.diff(np.linspace(0, config.pupils, partitions + 1).round().astype(int))
    offset = int(np.random.default_rng(config.seed).integers(0, 10**9))
    return {
        partition_name(PARTITION_KEY, code): dataclasses.replace(
            config,
            pupils=int(share),
            seed=config.seed * 1_000 + k,
            uai_prefix=code,
            first_pupil=k * _PUPILS_PER_PARTITION_BOUND,
            ine_offset=offset,
        )
        for k, (code, share) in enumerate(zip(DEPARTEMENTS, shares, strict=False))
    }


def _one(args: tuple[SynthConfig, Path]) -> SynthSummary:
    return synthesise(*args)


def synthesise_partitioned(
    config: SynthConfig,
    out_dir: Path,
    partitions: int,
    *,
    jobs: int = 1,
    on_partition: Callable[[str], None] | None = None,
) -> PartitionedSummary:
    """Write ``partitions`` département extracts of the national extract under ``out_dir``."""
    began = time.perf_counter()
    configs = partition_configs(config, partitions)
    summary = PartitionedSummary(str(out_dir))
    work = [(c, out_dir / name) for name, c in configs.items()]
    for name, result in zip(configs, map_in_workers(_one, work, jobs), strict=True):
        summary.partitions[name] = result
        if on_partition is not None:
            on_partition(name)
    summary.seconds = time.perf_counter() - began
    return summary
