"""Platform-wide state below every domain: the admin's settings and modules (`settings`, read
once per container), the admin-written records (`records`: ticket fees, permissions), and
counters kept by the writes instead of counting tables (`list_counts`, `statistics`).
"""
