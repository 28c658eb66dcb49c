"""`plinth check`: policies and the design's promises, verified against the rendered tree.

Public surface: ``ALL_CHECKS`` (the registry), ``check_platforms`` (run + waivers), the output formats.
"""

from plinth.checks.engine import Check, CheckContext, Finding, ObjectRef
from plinth.checks.registry import ALL_CHECKS
from plinth.checks.report import CheckReport, as_json, as_sarif, check_platforms, table
from plinth.checks.waivers import DEFAULT_WAIVERS, WAIVER_CHECKS, Waiver, load_waivers

__all__ = ["ALL_CHECKS", "WAIVER_CHECKS", "Check", "CheckContext", "CheckReport", "DEFAULT_WAIVERS", "Finding", "ObjectRef",
           "Waiver", "as_json", "as_sarif", "check_platforms", "load_waivers", "table"]
