"""The planner's parts, one phase per module; `cogs.templates.plan.make_plan` runs them in
order over one shared `PlanContext`."""
