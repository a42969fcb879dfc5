"""``python -m edge_agent``: run the lab edge agent.

Local broker, simulated device (the default)::

    python -m edge_agent --broker 127.0.0.1:1883 --device-id lab-1

AWS IoT with a real PSLab on a serial port::

    python -m edge_agent --device-id lab-1 --serial /dev/ttyACM0 \\
        --aws-iot-endpoint abc123-ats.iot.us-east-1.amazonaws.com \\
        --cert lab-1.cert.pem --key lab-1.private.key --ca AmazonRootCA1.pem
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from openevent.lab.mqtt5 import TlsFiles

from edge_agent.agent import Agent, SessionPublisher, heartbeat
from edge_agent.devices import Device, PslabDevice, SimulatedDevice
from edge_agent.mqtt import AWS_IOT_PORT, agent_session
from edge_agent.sandbox import NO_SANDBOX_REASON, SandboxLimits, bwrap_available

log = logging.getLogger("edge_agent")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m edge_agent", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device-id", required=True, help="lab device id (topic lab/v1/<id>/...)")
    p.add_argument("--broker", help="local MQTT 5 broker host:port (plain TCP)")
    dev = p.add_mutually_exclusive_group()
    dev.add_argument("--simulated", action="store_true",
                     help="use the simulated device (the default)")
    dev.add_argument("--serial", metavar="PORT", help="real PSLab on this serial port")
    p.add_argument("--aws-iot-endpoint", help="AWS IoT data endpoint (mutual TLS, port 8883)")
    p.add_argument("--cert", help="device certificate (PEM)")
    p.add_argument("--key", help="device private key (PEM); keep it 0600")
    p.add_argument("--ca", help="CA bundle (PEM), e.g. AmazonRootCA1.pem")
    p.add_argument("--script-timeout", type=float, default=30.0,
                   help="wall-clock seconds per script run")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if bool(args.broker) == bool(args.aws_iot_endpoint):
        p.error("give exactly one of --broker or --aws-iot-endpoint")
    if args.aws_iot_endpoint and not (args.cert and args.key):
        p.error("--aws-iot-endpoint needs --cert and --key")
    return args


def make_device(args: argparse.Namespace) -> Device:
    """The simulated device unless --serial names a port: pslab is imported only then."""
    if not args.serial:
        return SimulatedDevice()
    from pslab.connection import SerialHandler

    handler: Any = SerialHandler(port=args.serial)
    handler.connect()
    return PslabDevice(handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    device = make_device(args)
    if not bwrap_available():
        # Function calls still work; every script run fails with this reason.
        log.warning("%s", NO_SANDBOX_REASON)
    holder: dict[str, Agent] = {}

    def on_connect() -> None:
        holder["agent"].publish_status(True)
        log.info("connected; listening on lab/v1/%s/cmd", args.device_id)

    if args.broker:
        host, _, port = args.broker.rpartition(":")
        session = agent_session(args.device_id, lambda m: holder["agent"].handle_message(m),
                                on_connect, host=host or "127.0.0.1", port=int(port))
    else:
        session = agent_session(args.device_id, lambda m: holder["agent"].handle_message(m),
                                on_connect, host=args.aws_iot_endpoint, port=AWS_IOT_PORT,
                                tls=TlsFiles(args.cert, args.key, args.ca))
    agent = Agent(args.device_id, device, SessionPublisher(session),
                  limits=SandboxLimits(wall_seconds=args.script_timeout))
    holder["agent"] = agent
    agent.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    session.start(timeout=None)  # keeps retrying in the background until the broker is up
    heartbeat(agent, stop)
    stop.wait()
    log.info("stopping")
    try:
        agent.publish_status(False).result(5)
    except Exception:
        log.debug("could not publish offline status", exc_info=True)
    agent.stop()
    session.stop()
    device.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
