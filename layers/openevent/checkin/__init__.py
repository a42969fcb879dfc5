"""Check-in at the door: signed ticket codes a scanner verifies offline with the event's public
key (`codes`, `keys`), the attendee's check-in state kept consistent as Open Event Server kept
it (`state`), scans recorded exactly once and synchronised from offline scanners (`scans`),
the tickets a scanner downloads (`tickets`), and the thin routes the orders group registers
(`routes`). Above the order domain: a scan reads orders and attendees, never the reverse.
"""
