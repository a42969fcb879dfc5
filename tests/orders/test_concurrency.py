"""Inventory invariants under concurrency: threads against the in-process gateway (moto,
serialized per DynamoDB call as DynamoDB is — see conftest)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

THREADS = 16


@pytest.mark.slow
def test_five_seat_ticket_never_sells_more_than_five(world, people, shop):
    buyers = [world.make_user() for _ in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda b: world.checkout(b, [(shop.paid, 1)]), buyers))
    statuses = sorted(r.status for r in results)
    assert statuses == [201] * 5 + [409] * (THREADS - 5)
    assert world.ticket_state(shop.paid).seats_taken == 5


@pytest.mark.slow
def test_three_use_code_is_never_used_more_than_three_times(world, people, shop):
    big = world.ticket(shop.event, name="Big", price="10.00", quantity=100)
    code = world.code(shop.event, [big], tickets_number=3)
    buyers = [world.make_user() for _ in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda b: world.checkout(b, [(big, 1)],
                                                         **{"discount-code": code.id}), buyers))
    statuses = sorted(r.status for r in results)
    assert statuses == [201] * 3 + [422] * (THREADS - 3)
    assert world.code_state(code).used_count == 3
    assert world.ticket_state(big).seats_taken == 3


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_cancel_and_expiry_in_flight_at_once_exactly_one_wins(world, people, shop, round_):
    import threading
    from datetime import timedelta

    from openevent.models.base import now
    from openevent.orders.lifecycle import expire_due_orders

    order = world.checkout(people.buyer, [(shop.paid, 3)]).json()["data"]
    later = now() + timedelta(minutes=30)
    start = threading.Barrier(2)

    def cancel():
        start.wait()
        return world.api.delete(f"/v1/orders/{order['id']}", token=people.owner.token).status

    def expire():
        start.wait()
        return expire_due_orders(later)["orders"]

    with ThreadPoolExecutor(2) as pool:
        cancelled, expired = pool.submit(cancel), pool.submit(expire)
        cancel_status, expired_count = cancelled.result(), expired.result()
    final = world.order(order["id"]).status
    # exactly one of them changed the order, and the seats came back exactly once
    assert (cancel_status == 200) != (expired_count == 1)
    assert final == ("cancelled" if cancel_status == 200 else "expired")
    assert cancel_status in (200, 409)
    assert world.ticket_state(shop.paid).seats_taken == 0
