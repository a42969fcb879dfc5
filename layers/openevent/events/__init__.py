"""Events and what an organizer sells: an event's life (`lifecycle`: create, update, publish,
delete), its tickets and their seats (`tickets`, `inventory`: sharded seat counters), its
discount and access codes (`discount_codes`, `access_codes`), content (`content`: tracks,
sponsors, forms, tax...), copies (`copying`), lists (`lists`) and the organizer's Stripe
account (`stripe_connect`). Above accounts; below orders. Reads shared with the wire live in
`openevent.rules.event_reads`.
"""
