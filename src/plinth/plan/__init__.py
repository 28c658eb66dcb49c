"""``plinth plan``: capacity and monthly cost per cloud from the rendered workloads, and their growth with organisations.

Public surface: ``plan_capacity`` (the capacity check calls it), ``plan_point`` / ``plan_curve`` (capacity
and cost on each cloud at one or several organisation counts), ``scale_platform`` (the load model).
"""

from plinth.plan.capacity import CapacityPlan, PoolPlan, ScalePoint, plan_capacity
from plinth.plan.cost import CostPlan, plan_cost
from plinth.plan.growth import scale_platform
from plinth.plan.planner import CloudPlan, PlanPoint, plan_curve, plan_point

__all__ = [
    "CapacityPlan", "CloudPlan", "CostPlan", "PlanPoint", "PoolPlan", "ScalePoint",
    "plan_capacity", "plan_cost", "plan_curve", "plan_point", "scale_platform",
]
