import pytest


@pytest.fixture
def broker():
    """A private mosquitto on a free 127.0.0.1 port (listener <port> 127.0.0.1, anonymous)."""
    from openevent.lab.localbroker import LocalBroker

    b = LocalBroker().start()
    yield b
    b.stop()
