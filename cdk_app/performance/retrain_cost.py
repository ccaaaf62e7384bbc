"""What the weekly retraining costs (`retrain_schedule`): its jobs' instance time, billed by the second, and its
alarm. A month holds 4.35 weekly runs (52.2 weeks a year over 12).

The run's duration is a flag: no run happens here, so the default is what was measured, the training job under the
real toolkit on this machine (`train-job`, 2 cores) on the small fixture channel of the tests (3 stations, 12 days:
tests/support/training_history.py), 8.8 s; a city-sized channel takes longer (the simulator's 300 stations over 6
weeks took 88.5 s), and a run adds its dataset and evaluation jobs. Read a real run's billable seconds in the
console and pass them. The instance's price defaults to the table's (us-east-1 hosting; training and processing
list the same for these general-purpose and compute types, approximately); pass the exact one as a flag.
Storage of a run's files (a channel of a few MB, a model under 1 MB) is cents a year and left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdk_app.deployment.instance_types import instance_type

RUNS_PER_MONTH = 4.35
MEASURED_RUN_SECONDS = 8.8  # see the docstring


@dataclass(frozen=True)
class RetrainRun:
    instance_type: str
    seconds: float
    price_per_hour: float | None = None  # None: the instance type's price from the table

    @property
    def hourly_price(self) -> float:
        price = self.price_per_hour or instance_type(self.instance_type).price_per_hour
        if price is None:
            raise ValueError(f"{self.instance_type} has no price in cdk_app/deployment/instance_types.py; give its "
                             "hourly price with --retrain-instance-price")
        return price

    def cost(self) -> float:
        return self.seconds / 3600 * self.hourly_price

    def monthly(self, alarm_per_month: float) -> float:
        return RUNS_PER_MONTH * self.cost() + alarm_per_month


def retrain_lines(run: RetrainRun, alarm_per_month: float, deployed: bool) -> list[str]:
    """The weekly retraining's bill, for `cost`'s output."""
    state = "deployed (retrain_schedule is set)" if deployed else "not deployed (set retrain_schedule to deploy it)"
    return [
        f"the weekly retraining, {state}: {run.seconds:g} s of {run.instance_type} at ${run.hourly_price:g}/h a run",
        f"  a run ${run.cost():.4f}; a month ({RUNS_PER_MONTH:g} runs) ${RUNS_PER_MONTH * run.cost():.4f}, "
        f"with its alarm ${run.monthly(alarm_per_month):.4f}",
    ]
