from factories import profile_by, send_batch


def test_identify_then_track_lands_on_one_profile(client, source, admin_headers):
    res = send_batch(
        client,
        source,
        [
            {"type": "page", "anonymousId": "anon-1", "name": "Home"},
            {"type": "identify", "anonymousId": "anon-1", "userId": "u-1", "traits": {"email": "Ada@Example.com"}},
        ],
    )
    assert res.status_code == 200, res.text
    profile = profile_by(client, admin_headers, "email:ada@example.com")
    assert profile["event_count"] == 2
