import pytest


@pytest.fixture
def lab_tables(aws):
    """The lab tables, empty, in the shared embedded AWS of tests/conftest.py."""
    from openevent.lab import store

    return store


@pytest.fixture
def broker():
    """A private mosquitto on a free 127.0.0.1 port (listener <port> 127.0.0.1, anonymous)."""
    from openevent.lab.localbroker import LocalBroker

    b = LocalBroker().start()
    yield b
    b.stop()
