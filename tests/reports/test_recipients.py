"""Recipients stored with the tenant, on SQLite and PostgreSQL: checked when stored
(naming the field), one per brand, kind, channel and target, read back per brand and
report kind (a recipient of `all` gets every kind), a robot's token cut when shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.db import migrate
from engine.db.connect import connect
from engine.db.errors import Conflict, NotFound
from engine.reports.delivery.errors import BadRecipient
from engine.reports.recipients import RecipientStore
from tests.db.databases import BACKENDS, blank_database

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=8c1f0a2b3c4d5e6f"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecipientStore]:
    with blank_database(request.param, tmp_path) as url:
        migrate.upgrade(url)
        engine = connect(url)
        try:
            yield RecipientStore(engine)
        finally:
            engine.dispose()


def test_targets_per_brand_and_kind(store: RecipientStore) -> None:
    store.add("acme", "b1", "mail", "ceo@brand.example")
    store.add("acme", "b1", "mail", "ops@brand.example", kind="campaign")
    store.add("acme", "b1", "dingtalk", DINGTALK, kind="monthly", secret="SECabc")
    store.add("acme", "b1", "mail", "ceo@brand.example", kind="monthly")  # twice for monthly
    store.add("acme", "b2", "wecom", WECOM)
    store.add("other", "b1", "mail", "x@other.example")
    campaign = store.targets("acme", "b1", "campaign")
    assert [t.address for t in campaign] == ["ceo@brand.example", "ops@brand.example"]
    monthly = store.targets("acme", "b1", "monthly")
    assert [t.channel for t in monthly] == ["mail", "dingtalk"]  # ceo once
    assert monthly[1].secret == "SECabc"
    assert [t.channel for t in store.targets("acme", "b2", "monthly")] == ["wecom"]
    assert store.targets("acme", "b3", "monthly") == []
    assert len(store.recipients("acme")) == 5 and len(store.recipients("acme", brand="b1")) == 4


def test_shown_without_the_token_nor_the_secret(store: RecipientStore) -> None:
    made = store.add("acme", "b1", "dingtalk", DINGTALK, secret="SECabc")
    body = made.to_json()
    assert body["target"] == "https://oapi.dingtalk.com/robot/send?access_token=8c1f***"
    assert body["signed"] is True and "SECabc" not in str(body)
    assert store.get("acme", made.id).target.address == DINGTALK


@pytest.mark.parametrize(
    ("channel", "address", "kind", "secret", "field"),
    [
        ("mail", "buyer@", "all", None, "target"),
        ("mail", "buyer@brand.example", "all", "SECx", "secret"),
        ("mail", "buyer@brand.example", "weekly", None, "kind"),
        ("sms", "+8613800000000", "all", None, "channel"),
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "all", None, "target"),
        ("wecom", WECOM, "all", "SECx", "secret"),
    ],
)
def test_a_recipient_that_is_not_one_is_refused(
    store: RecipientStore,
    channel: str,
    address: str,
    kind: str,
    secret: str | None,
    field: str,
) -> None:
    with pytest.raises(BadRecipient) as caught:
        store.add("acme", "b1", channel, address, kind=kind, secret=secret)
    assert [i.path for i in caught.value.issues] == [field]
    assert store.recipients("acme") == []


def test_the_same_recipient_twice_is_a_conflict(store: RecipientStore) -> None:
    store.add("acme", "b1", "mail", "ceo@brand.example")
    with pytest.raises(Conflict, match=r"ceo@brand.example already gets brand b1's all"):
        store.add("acme", "b1", "mail", "ceo@brand.example")
    with pytest.raises(Conflict):
        store.add("acme", "b1", "mail", " ceo@Brand.EXAMPLE ")
    assert store.add("acme", "b1", "mail", "CEO@brand.example").target.address == (
        "CEO@brand.example"
    )


def test_removed_by_its_tenant_only(store: RecipientStore) -> None:
    made = store.add("acme", "b1", "mail", "ceo@brand.example")
    with pytest.raises(NotFound):
        store.remove("other", made.id)
    with pytest.raises(NotFound):
        store.get("other", made.id)
    store.remove("acme", made.id)
    assert store.recipients("acme") == []
    with pytest.raises(NotFound):
        store.remove("acme", made.id)
