"""Local fakes of external services (Stripe, PayPal) speaking their real wire formats."""
