"""The deploy lifecycle, rehearsed with the real CDK CLI against a patched moto server on loopback."""

from __future__ import annotations

import pytest

from cdk_app.rehearsal.steps import rehearse

pytestmark = pytest.mark.emulator


def test_the_whole_lifecycle_passes_every_check() -> None:
    results = rehearse()
    assert [r.name for r in results] == ["bootstrap", "deploy", "update", "no-change deploy", "failed deploy",
                                         "good deploy after it", "destroy"]
    checked = {r.name: r.checked for r in results}
    assert "CLI reported no changes" in checked["no-change deploy"]
    assert "MemorySizeInMB=4000 rejected" in checked["failed deploy"]
    assert {"no endpoints", "no endpoint configs", "no models", "no alarms", "no topics", "no budgets",
            "no log groups"} <= set(checked["destroy"])
