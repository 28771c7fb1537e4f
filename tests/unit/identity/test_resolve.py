"""The resolution rules on an in-memory graph."""

from __future__ import annotations

from rapport.identity.model import (
    Identifier,
    IdentityRules,
    extract_identifiers,
    normalize_email,
    normalize_phone,
    resolve,
)

RULES = IdentityRules(blocked_values=frozenset({"null", "0", "anonymous"}), limits={"user_id": 1}, phone_region="US")


class Graph:
    def __init__(
        self,
        holders: dict[str, str],
        canonical: dict[str, str] | None = None,
        apart: dict[str, set[str]] | None = None,
        vouched_for: set[str] | None = None,
    ) -> None:
        self.holders = holders
        self.canon = canonical or {}
        self.apart = apart or {}
        self.vouched_for = vouched_for or set()

    def origin(self, key):
        return self.holders.get(key)

    def canonical(self, pid):
        return self.canon.get(pid, pid)

    def limited_values(self, canonical_id):
        values = {
            k.split(":", 1)[1]
            for k, p in self.holders.items()
            if k.startswith("user_id:") and self.canonical(p) == canonical_id
        }
        return {"user_id": values} if values else {}

    def kept_apart(self, canonical_id):
        return self.apart.get(canonical_id, set())

    def vouched(self, canonical_id):
        return canonical_id in self.vouched_for

    def named(self, canonical_id):
        return any(
            self.canonical(p) == canonical_id and not k.startswith(("anonymous_id:", "device_id:"))
            for k, p in self.holders.items()
        )


def ids(*keys):
    return sorted((Identifier.from_key(k) for k in keys), key=lambda i: (i.rank, i.value))


def test_new_identifiers_make_a_new_profile():
    r = resolve(ids("user_id:u", "email:a@b.co"), Graph({}), RULES)
    assert r.target is None and [i.key for i in r.attach] == ["user_id:u", "email:a@b.co"] and r.absorb == []


def test_known_identifier_takes_the_event_and_new_ones_attach():
    r = resolve(ids("user_id:u", "anonymous_id:a"), Graph({"anonymous_id:a": "P"}), RULES)
    assert r.target == "P" and [i.key for i in r.attach] == ["user_id:u"]
    assert r.anchor.key == "user_id:u"


def test_two_profiles_sharing_the_message_merge_into_the_stronger_one():
    r = resolve(
        ids("email:a@b.co", "phone:+14155550123"), Graph({"email:a@b.co": "E", "phone:+14155550123": "P"}), RULES
    )
    assert (r.target, r.absorb) == ("E", ["P"])


def test_second_user_id_starts_its_own_profile_and_leaves_the_email():
    graph = Graph({"user_id:u1": "P", "email:a@b.co": "P"})
    r = resolve(ids("user_id:u2", "email:a@b.co"), graph, RULES)
    assert r.target is None and [i.key for i in r.attach] == ["user_id:u2"]
    assert [i.key for i in r.conflicts] == ["email:a@b.co"]


def test_merge_refused_when_both_sides_hold_a_user_id():
    graph = Graph({"user_id:u1": "A", "email:a@b.co": "A", "anonymous_id:x": "B", "user_id:u2": "B"})
    r = resolve(ids("email:a@b.co", "anonymous_id:x"), graph, RULES)
    assert r.target == "A" and r.absorb == [] and [i.key for i in r.conflicts] == ["anonymous_id:x"]


def test_limits_are_configurable():
    graph = Graph({"user_id:u1": "A", "email:a@b.co": "A"})
    r = resolve(ids("user_id:u2", "email:a@b.co"), graph, IdentityRules(limits={}))
    assert r.target == "A" and [i.key for i in r.attach] == ["user_id:u2"]


def test_members_of_one_canonical_profile_do_not_merge_again():
    graph = Graph({"email:a@b.co": "A", "phone:+14155550123": "B"}, {"B": "A"})
    r = resolve(ids("email:a@b.co", "phone:+14155550123"), graph, RULES)
    assert (r.target, r.absorb) == ("A", [])


def test_extraction_normalizes_and_blocks():
    msg = {
        "type": "identify",
        "userId": " 0 ",
        "anonymousId": "anon-1",
        "traits": {"email": " Ada@Example.COM ", "phone": "(415) 555-0123"},
        "context": {"device": {"id": "anonymous"}, "externalIds": [{"type": "crm", "id": 7}]},
    }
    assert [i.key for i in extract_identifiers(msg, RULES)] == [
        "email:ada@example.com",
        "phone:+14155550123",
        "external:crm=7",
        "anonymous_id:anon-1",
    ]


def test_track_traits_count_only_from_context():
    msg = {
        "type": "track",
        "userId": "u",
        "traits": {"email": "x@y.co"},
        "context": {"traits": {"phone": "+442079460958"}},
    }
    assert [i.key for i in extract_identifiers(msg, RULES)] == ["user_id:u", "phone:+442079460958"]


def test_normalizers_reject_junk():
    assert normalize_email("not-an-email") is None and normalize_email(None) is None
    assert normalize_phone("12", "US") is None and normalize_phone(True, "US") is None
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"


def test_profiles_whose_merge_was_undone_are_kept_apart():
    graph = Graph({"email:a@b.co": "E", "anonymous_id:dev": "D"}, apart={"E": {"D"}, "D": {"E"}})
    r = resolve(ids("email:a@b.co", "anonymous_id:dev"), graph, RULES)
    assert (r.target, r.absorb, [i.key for i in r.conflicts]) == ("E", [], ["anonymous_id:dev"])
    assert r.anchor.key == "email:a@b.co"


def test_kept_apart_holds_for_what_either_side_merged_with_later():
    # D was split from E; D has since absorbed M, and E shows as S now: M's and S's ids still do not join.
    graph = Graph(
        {"email:a@b.co": "E", "anonymous_id:m": "M"}, canonical={"E": "S", "M": "D"}, apart={"D": {"E"}, "S": {"D"}}
    )
    r = resolve(ids("email:a@b.co", "anonymous_id:m"), graph, RULES)
    assert (r.target, r.absorb, [i.key for i in r.conflicts]) == ("S", [], ["anonymous_id:m"])


def test_a_third_profile_still_merges_with_either_side():
    graph = Graph({"email:a@b.co": "E", "phone:+14155550123": "P"}, apart={"E": {"D"}})
    r = resolve(ids("email:a@b.co", "phone:+14155550123"), graph, RULES)
    assert (r.target, r.absorb, r.conflicts) == ("E", ["P"], [])


def test_a_claim_never_joins_two_groups_a_server_vouched_for():
    # The victim (V) and the attacker (A) are each known to a server source; a browser's identify
    # naming the victim's user id and the attacker's verified address must not put them together.
    graph = Graph({"user_id:victim": "V", "email:me@evil.example": "A"}, vouched_for={"V", "A"})
    message = ids("user_id:victim", "email:me@evil.example")
    claimed = resolve(message, graph, RULES, asserted=False)
    assert (claimed.target, claimed.absorb, [i.key for i in claimed.conflicts]) == ("V", [], ["email:me@evil.example"])
    asserted = resolve(message, graph, RULES, asserted=True)  # a server source may: it knows them
    assert (asserted.target, asserted.absorb, asserted.conflicts) == ("V", ["A"], [])


def test_a_claim_still_stitches_anonymous_browsing_to_a_vouched_profile():
    graph = Graph({"user_id:u": "P", "anonymous_id:browser": "B"}, vouched_for={"P"})
    r = resolve(ids("user_id:u", "anonymous_id:browser"), graph, RULES, asserted=False)
    assert (r.target, r.absorb, r.conflicts) == ("P", ["B"], [])


def test_a_claim_never_brings_a_verified_address_to_a_named_profile_nobody_vouched_for():
    # The victim (V) only ever browsed and logged in on the web: nothing of theirs is verified. The
    # attacker (A) is known to a server source by their own address. Joined by a claim, the attacker
    # could sign in to the portal with their verified address and read the victim's history.
    graph = Graph({"user_id:victim": "V", "email:me@evil.example": "A"}, vouched_for={"A"})
    r = resolve(ids("user_id:victim", "email:me@evil.example"), graph, RULES, asserted=False)
    assert (r.target, r.absorb, [i.key for i in r.conflicts]) == ("V", [], ["email:me@evil.example"])
