"""An event's content: tracks, sponsors, microlocations, social links, custom forms and its tax.

One generic set of operations over `KINDS`: reading follows the event's visibility (a draft's
content is 404 below co-organizer), writing needs co-organizer or higher. The tax is single per
event: a `Unique` claim `tax#<event_id>` written with it makes a second one 409, even under
concurrency. Fixed custom-form fields (the default attendee name and email) cannot be deleted
or made optional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from openevent.errors import Conflict, Forbidden, NotFound, Unprocessable, attribute_pointer
from openevent.models.base import Unique, db_connection, next_id
from openevent.models.events import Event
from openevent.models.users import User
from openevent.rules.lookup import with_event
from openevent.rules.permissions import require_event_role
from openevent.wire.events import KINDS as KINDS  # the kinds, for the handlers
from openevent.wire.events import TAX_KIND as TAX_KIND
from openevent.wire.events import ContentKind
from openevent.wire.events import children as children
from openevent.wire.events import tax_of as tax_of

if TYPE_CHECKING:  # the content tables load with the first content route, not a cold start
    from openevent.models.event_content import Tax


def get_child(kind: ContentKind, raw_id: int, user: User | None) -> tuple[Any, Event]:
    """The item and its event, if `user` may see the event (404 otherwise)."""
    try:
        item = kind.model.get(raw_id)
    except kind.model.DoesNotExist:
        raise NotFound(f"{kind.label} not found") from None
    item, event = with_event(item, user, f"{kind.label} not found")
    return item, event


def _check_fixed(item: Any, values: dict[str, Any]) -> None:
    from openevent.models.event_content import CustomForm

    if not isinstance(item, CustomForm) or not item.is_fixed:
        return
    for name in ("field_identifier", "form", "type", "is_required", "is_included"):
        if name in values and values[name] != getattr(item, name):
            raise Unprocessable(f"'{name.replace('_', '-')}' of a fixed form field cannot change",
                                attribute_pointer(name))


def create_child(kind: ContentKind, user: User | None, event: Event,
                 values: dict[str, Any]) -> Any:
    require_event_role(user, event, "coorganizer")
    item = kind.model(next_id(kind.schema.type), event_id=event.id, **values)
    item.save()
    return item


def update_child(kind: ContentKind, user: User | None, item: Any, event: Event,
                 values: dict[str, Any]) -> Any:
    require_event_role(user, event, "coorganizer")
    _check_fixed(item, values)
    if values:
        actions = [getattr(kind.model, name).remove() if value is None
                   else getattr(kind.model, name).set(value) for name, value in values.items()]
        item.update(actions=actions, condition=kind.model.id.exists())  # type: ignore[attr-defined]
    return item


def delete_child(kind: ContentKind, user: User | None, item: Any, event: Event) -> None:
    from openevent.models.event_content import CustomForm, Tax, tax_claim_key

    require_event_role(user, event, "coorganizer")
    if isinstance(item, CustomForm) and item.is_fixed:
        raise Forbidden("A fixed form field cannot be deleted")
    if isinstance(item, Tax):
        with TransactWrite(connection=db_connection()) as tx:
            tx.delete(item)
            tx.delete(Unique(tax_claim_key(event.id)))
        return
    item.delete()


# --- tax (single per event) ------------------------------------------------------------

def create_tax(user: User | None, event: Event, values: dict[str, Any]) -> Tax:
    from openevent.models.event_content import Tax, tax_claim_key

    require_event_role(user, event, "coorganizer")
    tax = Tax(next_id("tax"), event_id=event.id, **values)
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.save(Unique(tax_claim_key(event.id), owner=str(tax.id)),
                    condition=Unique.key.does_not_exist())
            tx.save(tax)
    except TransactWriteError:
        raise Conflict("This event already has a tax", "/data/relationships/event") from None
    return tax
