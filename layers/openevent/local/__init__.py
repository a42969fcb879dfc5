"""The local runtime: every function group on one port over moto, a broker and a lab agent."""
