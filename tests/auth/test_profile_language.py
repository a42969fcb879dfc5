"""The web app's profile save: after every save it switches to `language-prefrence` and
reloads the page when that differs from the language shown (a null does), so the
confirmation "Your profile has been updated" never shows (issue 23, item 6). A user who never
chose one reads Open Event's default, "en"; a chosen one is kept."""

from __future__ import annotations


def _me(api, account):
    resp = api.get(f"/v1/users/{account.id}", token=account.token)
    assert resp.status == 200, resp.body
    return resp.json()["data"]


def test_language_defaults_to_en_and_a_choice_is_kept(api, make_user):
    account = make_user()
    assert _me(api, account)["attributes"]["language-prefrence"] == "en"
    resp = api.patch(f"/v1/users/{account.id}", {"data": {
        "type": "user", "id": str(account.id),
        "attributes": {"first-name": "Grace", "language-prefrence": "de"}}},
        token=account.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"]["attributes"]["language-prefrence"] == "de"
    assert _me(api, account)["attributes"]["language-prefrence"] == "de"


def test_a_bad_language_value_names_the_field(api, make_user):
    account = make_user()
    resp = api.patch(f"/v1/users/{account.id}", {"data": {
        "type": "user", "id": str(account.id), "attributes": {"language-prefrence": 7}}},
        token=account.token)
    assert resp.status == 422
    assert resp.json()["errors"][0]["source"]["pointer"] == "/data/attributes/language-prefrence"
