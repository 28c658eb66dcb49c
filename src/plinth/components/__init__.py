"""Platform components: one module per component (its objects, charts, alerts, dashboard panels, backups).

The registry of every component is ``plinth.components.registry.ALL_COMPONENTS``.
"""
