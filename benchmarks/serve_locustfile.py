"""Locust scenarios for benchmarks/serve.py (read from the environment it sets); not a test.

SCENARIO: pupil_batch | pupil_on_demand | list_page | export; RATE: requests/s for the whole run.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, task

SCENARIO = os.environ["VIGIE_BENCH_SCENARIO"]
USERS = int(os.environ["VIGIE_BENCH_USERS"])
RATE = float(os.environ["VIGIE_BENCH_RATE"])
TOKEN = os.environ["VIGIE_BENCH_TOKEN"]
TARGETS = json.loads(Path(os.environ["VIGIE_BENCH_TARGETS"]).read_text(encoding="utf-8"))


class Staff(FastHttpUser):
    def wait_time(self) -> float:
        """Independent staff: exponential pauses, so requests arrive as a Poisson process of the
        given rate. (Locust's constant_throughput keeps users spawned together in lockstep: every
        pacing interval they all send at once, and each request waits for the whole burst.)"""
        return self.random.expovariate(RATE / USERS)

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {TOKEN}"}
        self.random = random.Random(id(self))

    @task
    def call(self) -> None:
        if SCENARIO == "pupil_batch":
            pupil = self.random.choice(TARGETS["flagged"])
            self.client.get(f"/api/v1/pupils/{pupil}", headers=self.auth, name="pupil (reasons from the batch)")
        elif SCENARIO == "pupil_on_demand":
            pupil = self.random.choice(TARGETS["low"])
            self.client.get(f"/api/v1/pupils/{pupil}", headers=self.auth, name="pupil (reasons on demand)")
        elif SCENARIO == "list_page":
            school = self.random.choice(TARGETS["schools"])
            self.client.get(f"/api/v1/schools/{school}/pupils?page_size=50", headers=self.auth, name="list page of 50")
        else:
            school = self.random.choice(TARGETS["schools"])
            self.client.get(f"/api/v1/schools/{school}/pupils/export", headers=self.auth, name="export of 1,000 rows")
