"""Local payment-provider sandboxes (Stripe, PayPal) speaking the providers' real wire formats.

They ship with the product because `make run` starts them while no real keys are configured;
the tests use the same servers at the providers' HTTP boundary.
"""
