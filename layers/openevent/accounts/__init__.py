"""Accounts: users (sign-up, verification, profile, e-mail change, deletion), sessions (login,
short access tokens, rotating refresh tokens, revocation on a password or e-mail change) and
event roles (granting, invites, what a role may do). Public modules: `users`, `sessions`,
`roles`. Below events and orders; above the wire and the rules.
"""
