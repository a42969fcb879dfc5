"""The lab edge agent: runs on the machine wired to the PSLab, relays allow-listed calls and
sandboxed scripts between the MQTT broker (AWS IoT or a local mosquitto) and the device.

Run it with ``python -m edge_agent --help``. It depends on ``openevent.lab`` for the grammar
and the protocol, and validates everything it receives again: it never trusts the cloud.
"""
