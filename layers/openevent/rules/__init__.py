"""Who may see what, below the wire and the domains: event roles and what they allow
(`permissions`), the read rule of every resource type reached through a relationship
(`visibility`), events by id or identifier (`lookup`), orders and attendees (`orders`), and an
event's tickets, codes and Stripe account as a caller may see them (`event_reads`). Reads only.
"""
