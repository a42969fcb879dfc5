from tests.conftest import user_doc


def test_signup_then_login(api):
    resp = api.post("/v1/users", user_doc("a@example.com"))
    assert resp.status == 201, resp.body
    resp = api.post_json("/v1/auth/login", {"email": "a@example.com", "password": "long-enough-pw"})
    assert resp.status == 200, resp.body
    assert "access_token" in resp.json()
