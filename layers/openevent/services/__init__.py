"""Business operations, one module per area. Handlers call these; no rule lives in a view."""
