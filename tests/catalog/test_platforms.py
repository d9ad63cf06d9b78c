"""The platform schema files: loading and checking them, finding a product's category,
and making payloads from the product master with each kind of mapping."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.catalog.demo import CATEGORY_PATHS
from engine.catalog.model import Product, SkuRecord
from engine.catalog.payload import MappingError, compile_builder
from engine.catalog.registry import PLATFORMS_DIR, Registry, default_registry, load_schema
from engine.core.errors import InputError
from engine.demo import BRANDS

Doc = dict[str, Any]


def sku(code: str, **fields: Any) -> SkuRecord:
    return SkuRecord(sku_code=code, list_price=fields.pop("list_price", "399.00"), **fields)


def product(**fields: Any) -> Product:
    base: Doc = {
        "brand": "b1",
        "spu_code": "P1",
        "title": "Stridewell 跑步鞋",
        "category": ["鞋靴", "跑步鞋"],
        "skus": [sku("S1")],
    }
    return Product(**{**base, **fields})


def build(fields: Doc, sku_fields: Doc | None = None, p: Product | None = None, **ctx: Any) -> Any:
    return compile_builder(fields, sku_fields).build(p or product(), ctx)


def minimal_file(**changes: Any) -> Doc:
    doc: Doc = {
        "platform": "tmall",
        "category_id": "1",
        "name": "test category",
        "version": 1,
        "api": "tmall.item.schema.add",
        "matches": [["鞋靴"]],
        "fields": {"title": {"from": "title"}},
        "schema": {
            "type": "object",
            "required": ["title"],
            "properties": {"title": {"type": "string", "x-maxWidth": 60}},
        },
    }
    doc.update(changes)
    return doc


def write(path: Path, doc: Any, indent: int | None = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=indent), encoding="utf-8")
    return path


# --- the shipped files -------------------------------------------------------------------


def test_the_shipped_files_load_with_two_categories_or_more_per_platform() -> None:
    registry = Registry.load()
    assert registry.platforms() == ["douyin", "jd", "pdd", "taobao", "tmall"]
    for platform in registry.platforms():
        assert len(registry.schemas(platform)) >= 2, platform
    assert default_registry() is default_registry()  # loaded once


def test_every_demo_product_finds_a_category_on_its_shops_platforms() -> None:
    registry = default_registry()
    for brand in BRANDS:
        for category in brand.categories:
            path = CATEGORY_PATHS[category.name]
            for shop in brand.shops:
                found = registry.match(shop.platform, path)
                assert found is not None, (shop.platform, path)
                assert found.matches and any(path[: len(m)] == m for m in found.matches)
    # Kits name no category of their own (README): reported, not guessed.
    assert registry.match("tmall", CATEGORY_PATHS["sets"]) is None


def test_the_longest_covering_path_wins() -> None:
    registry = default_registry()
    running = registry.match("tmall", ["鞋靴", "跑步鞋"])
    assert running is not None and running.name.endswith("(running shoes)")
    for path in (["鞋靴", "凉鞋"], ["鞋靴"], [" 鞋靴 ", "靴子"]):
        casual = registry.match("tmall", path)
        assert casual is not None and casual.category_id == "50011740", path
    deeper = registry.match("tmall", ["鞋靴", "跑步鞋", "竞速"])
    assert deeper is not None and deeper.category_id == running.category_id
    assert registry.match("tmall", ["鞋"]) is None
    assert registry.match("kuaishou", ["鞋靴"]) is None
    found = registry.categories_for("jd", product(category=["服饰", "袜子"]))
    assert found is not None and found.platform == "jd" and found.api == "jingdong.ware.write.add"


def test_a_schema_is_found_by_platform_and_id() -> None:
    registry = default_registry()
    assert registry.schema("pdd", "11685").api == "pdd.goods.add"
    with pytest.raises(InputError) as caught:
        registry.schema("pdd", "404")
    assert "11685" in str(caught.value)  # names the known ids


def test_the_content_hash_ignores_layout_and_sees_content(tmp_path: Path) -> None:
    doc = json.loads((PLATFORMS_DIR / "pdd" / "shoes.json").read_text(encoding="utf-8"))
    pretty = load_schema(write(tmp_path / "a.json", doc, indent=4))
    compact = load_schema(write(tmp_path / "b.json", doc, indent=None))
    shipped = default_registry().schema("pdd", "11685")
    assert pretty.content_hash == compact.content_hash == shipped.content_hash
    doc["version"] += 1
    assert load_schema(write(tmp_path / "c.json", doc)).content_hash != pretty.content_hash


# --- broken files --------------------------------------------------------------------------


def test_every_fault_of_every_broken_file_is_reported_with_file_and_key(tmp_path: Path) -> None:
    write(tmp_path / "tmall" / "ok.json", minimal_file())
    write(
        tmp_path / "tmall" / "kinds.json",
        minimal_file(
            category_id="2",
            matches=[["服饰"]],
            fields={"title": {"copy": "title"}, "brand": {"from": "brandd"}},
        ),
    )
    bad_schema = minimal_file(category_id="3", matches=[["美妆"]])
    bad_schema["schema"]["properties"]["title"] = {"type": "string", "minLength": -1}
    bad_schema["schema"]["properties"]["props"] = {"enum": "棉", "x-maxWidth": "sixty"}
    write(tmp_path / "jd" / "schema.json", bad_schema)
    missing = minimal_file(category_id="4", matches=[["家居"]])
    del missing["api"], missing["schema"]
    write(tmp_path / "pdd" / "missing.json", missing)
    (tmp_path / "pdd" / "syntax.json").write_text('{"platform": "pdd",', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Registry.load(tmp_path)
    where = {issue.path for issue in caught.value.issues}
    assert {
        "tmall/kinds.json:fields.title",
        "tmall/kinds.json:fields.brand",
        "jd/schema.json:schema.properties.title.minLength",
        "jd/schema.json:schema.properties.props.enum",
        "jd/schema.json:schema.properties.props.x-maxWidth",
        "pdd/missing.json:api",
        "pdd/missing.json:schema",
        "pdd/syntax.json:",
    } <= where
    assert not any(path.startswith("tmall/ok.json") for path in where)
    text = str(caught.value)
    assert "unknown mapping kind 'copy'" in text
    assert "unknown field 'brandd'" in text
    assert "required key is missing" in text
    assert "line 1" in text  # the JSON syntax error says where


def test_a_mapped_field_the_schema_does_not_list_is_refused(tmp_path: Path) -> None:
    doc = minimal_file(fields={"title": {"from": "title"}, "titel": {"from": "title"}})
    with pytest.raises(InputError) as caught:
        load_schema(write(tmp_path / "typo.json", doc))
    assert [i.path for i in caught.value.issues] == ["fields.titel"]
    assert caught.value.source.endswith("typo.json")


def test_unknown_keys_and_wrong_types_are_refused(tmp_path: Path) -> None:
    doc = minimal_file(version=0, platform="Tmall", matches=[[]], extra=1)
    doc["schema"]["type"] = "array"
    with pytest.raises(InputError) as caught:
        load_schema(write(tmp_path / "odd.json", doc))
    assert {i.path for i in caught.value.issues} == {
        "extra",
        "version",
        "platform",
        "matches[0]",
        "schema.type",
    }


def test_two_files_may_not_claim_one_category_or_one_path(tmp_path: Path) -> None:
    write(tmp_path / "a.json", minimal_file())
    write(tmp_path / "b.json", minimal_file())  # same id
    write(tmp_path / "c.json", minimal_file(category_id="9"))  # same path
    with pytest.raises(InputError) as caught:
        Registry.load(tmp_path)
    messages = [str(i) for i in caught.value.issues]
    assert len(messages) == 2
    assert any("b.json:category_id" in m and "a.json" in m for m in messages)
    assert any("c.json:matches" in m and "鞋靴" in m for m in messages)


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no platform schema files"):
        Registry.load(tmp_path)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"from": "skus.weight_g"}, "write skus[]"),
        ({"from": "skus[].weight"}, "unknown field 'weight'"),
        ({"from": "images[]"}, "[] is for skus[] only"),
        ({"from": "title[0]"}, "title is not a list"),
        ({"from": "title.x"}, "only attributes, options and spec take a key"),
        ({"from": "attributes.a.b"}, "too many parts"),
        ({"from": "title", "const": 1}, "exactly one kind"),
        ({"from": "title", "default": 1}, "unknown key 'default'"),
        ({"from": "title", "pick": "median"}, "pick must be one of"),
        ({"convert": {"from": "skus[].weight_g", "unit": "g->lb"}}, "a 'unit' of"),
        ({"map": {"from": "season"}}, "a 'values' object"),
        ({"template": "{title!r}"}, "no format or conversion"),
        ({"template": "{skus[].barcode}"}, "one value per placeholder"),
        ({"shop": ""}, "shop names a setting"),
        ({"shop": "stock", "per_sku": "yes"}, "true or false"),
        ("title", "a mapping is an object"),
    ],
)
def test_a_mapping_that_cannot_work_is_named(mapping: Any, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        compile_builder({"field": mapping})
    [(key, text)] = caught.value.problems
    assert key == "fields.field"
    assert message in text


# --- mappings ------------------------------------------------------------------------------


def test_from_reads_master_paths_and_leaves_absent_values_out() -> None:
    p = product(
        images=["https://img.example.com/1.jpg", "https://img.example.com/2.jpg"],
        attributes={"材质": "网布", "品牌名": "Stridewell"},
        skus=[sku("S1", spec={"尺码": "40"}), sku("S2", spec={"尺码": "41"})],
    )
    payload = build(
        {
            "title": {"from": "title"},
            "leaf": {"from": "category[-1]"},
            "first_image": {"from": "images[0]"},
            "material": {"from": "attributes.材质"},
            "brand": {"from": ["attributes.品牌", "attributes.品牌名", "brand"]},
            "sizes": {"from": "options.尺码"},
            "second_size": {"from": "options.尺码[1]"},
            "season": {"from": "season"},  # "" in the record: left out
            "year": {"from": "year"},  # None: left out
            "lining": {"from": "attributes.内里材质"},
            "tenth_image": {"from": "images[9]"},
            "image_text": {"from": "images", "join": ";"},
        },
        p=p,
    )
    assert payload.issues == []
    assert payload.doc == {
        "title": "Stridewell 跑步鞋",
        "leaf": "跑步鞋",
        "first_image": "https://img.example.com/1.jpg",
        "material": "网布",
        "brand": "Stridewell",
        "sizes": ["40", "41"],
        "second_size": "41",
        "image_text": "https://img.example.com/1.jpg;https://img.example.com/2.jpg",
    }


def test_money_is_decimal_text_and_picks_compare_numbers() -> None:
    p = product(skus=[sku("S1", list_price="129.00"), sku("S2", list_price="99.00")])
    payload = build(
        {
            "low": {"from": "skus[].list_price", "pick": "min"},
            "high": {"from": "skus[].list_price", "pick": "max"},
            "all": {"from": "skus[].list_price"},
            "first": {"from": "skus[].sku_code", "pick": "first"},
            "weight": {"from": "skus[].weight_g", "pick": "sum"},  # none known: left out
        },
        p=p,
    )
    # As text "99.00" > "129.00"; as money 99 < 129.
    assert payload.doc == {
        "low": "99.00",
        "high": "129.00",
        "all": ["129.00", "99.00"],
        "first": "S1",
    }


def test_nested_fields_exist_even_when_nothing_fills_them() -> None:
    payload = build({"location.city": {"shop": "location.city", "optional": True}})
    assert payload.doc == {"location": {}}


def test_const_values_are_never_shared_between_payloads() -> None:
    builder = compile_builder({"tags": {"const": []}, "n": {"const": 0}})
    first = builder.build(product())
    first.doc["tags"].append("changed")
    assert builder.build(product()).doc == {"tags": [], "n": 0}


def test_a_payload_never_shares_data_with_the_record() -> None:
    p = product(skus=[sku("S1", spec={"尺码": "40"})])
    payload = build({}, {"skus": {"spec": {"from": "skus[].spec"}}}, p=p)
    payload.doc["skus"][0]["spec"]["尺码"] = "99"
    assert p.skus[0].spec == {"尺码": "40"}


def test_value_maps_translate_or_report_the_unmapped_value() -> None:
    seasons = {"春": "春季", "夏": "夏季"}
    fields = {"season": {"map": {"from": "season", "values": seasons}}}
    assert build(fields, p=product(season="春")).doc == {"season": "春季"}
    odd = build(fields, p=product(season="四季通用"))
    assert odd.doc == {}
    [issue] = odd.issues
    assert (issue.field, issue.rule, issue.value) == ("season", "unmapped", "四季通用")
    assert "四季通用" in issue.message and "春, 夏" in issue.message
    fallback = {"season": {"map": {"from": "season", "values": seasons, "default": "四季"}}}
    assert build(fallback, p=product(season="四季通用")).doc == {"season": "四季"}
    null_default = {"season": {"map": {"from": "season", "values": seasons, "default": None}}}
    assert build(null_default, p=product(season="冬")).issues[0].rule == "unmapped"
    sizes = {"sizes": {"map": {"from": "options.尺码", "values": {"40": "40码", "41": "41码"}}}}
    p = product(skus=[sku("S1", spec={"尺码": "40"}), sku("S2", spec={"尺码": "41"})])
    assert build(sizes, p=p).doc == {"sizes": ["40码", "41码"]}


def test_templates_fill_placeholders_or_report_the_missing_ones() -> None:
    fields = {"name": {"template": "{brand} {title} {year}款"}}
    assert build(fields, p=product(year=2026)).doc == {"name": "b1 Stridewell 跑步鞋 2026款"}
    missing = build(fields | {"pack": {"template": "{category[-1]} x1"}})
    assert missing.doc == {"pack": "跑步鞋 x1"}
    [issue] = missing.issues
    assert issue.field == "name" and issue.rule == "template" and "year" in issue.message


@given(st.integers(min_value=0, max_value=100_000_000))
def test_grams_to_kilograms_is_exact(grams: int) -> None:
    p = product(skus=[sku("S1", weight_g=grams)])
    value = build(
        {"kg": {"convert": {"from": "skus[].weight_g", "unit": "g->kg", "pick": "max"}}}, p=p
    ).doc["kg"]
    assert Decimal(repr(value)) == Decimal(grams) / 1000
    assert isinstance(value, int) == (grams % 1000 == 0)


@given(st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False))
def test_yuan_to_fen_is_exact(yuan: Decimal) -> None:
    p = product(skus=[sku("S1", list_price=format(yuan, "f"))])
    fen = build(
        {}, {"skus": {"fen": {"convert": {"from": "skus[].list_price", "unit": "yuan->fen"}}}}, p=p
    )
    assert fen.doc["skus"][0]["fen"] == int(yuan * 100)
    assert isinstance(fen.doc["skus"][0]["fen"], int)


def test_unit_conversions() -> None:
    p = product(skus=[sku("S1", weight_g=1234, length_mm=305, list_price="0.10"),
                      sku("S2", weight_g=2000, length_mm=300, list_price="12.34")])  # fmt: skip
    doc = build(
        {
            "kg": {"convert": {"from": "skus[].weight_g", "unit": "g->kg"}},
            "cm": {"convert": {"from": "skus[].length_mm", "unit": "mm->cm", "pick": "max"}},
            "fen": {"convert": {"from": "skus[].list_price", "unit": "yuan->fen", "pick": "min"}},
        },
        p=p,
    ).doc
    assert doc == {"kg": [1.234, 2], "cm": 30.5, "fen": 10}
    assert repr(doc["kg"][0]) == "1.234"


def test_shop_settings_by_literal_key_nested_or_per_sku() -> None:
    p = product(skus=[sku("S1"), sku("S2")])
    fields = {
        "city": {"shop": "location.city"},
        "state": {"shop": "location.state"},
        "num": {"shop": "stock", "per_sku": True},
        "cids": {"shop": "seller_cids", "optional": True},
    }
    items = {"skus": {"quantity": {"shop": "stock", "per_sku": True}}}
    ctx = {"location.city": "上海", "location": {"state": "上海市"}, "stock": {"S1": 3, "S2": 4}}
    payload = build(fields, items, p=p, **ctx)
    assert payload.issues == []
    assert payload.doc == {
        "city": "上海",
        "state": "上海市",
        "num": 7,
        "skus": [{"quantity": 3}, {"quantity": 4}],
    }
    short = build(fields, items, p=p, stock={"S1": 3})
    assert [(i.field, i.rule) for i in short.issues] == [
        ("city", "shop_setting"),
        ("state", "shop_setting"),
        ("num", "shop_setting"),
        ("skus[S2].quantity", "shop_setting"),
    ]
    assert "S2" in short.issues[2].message
    assert short.doc == {"skus": [{"quantity": 3}, {}]}


def test_sku_lists_have_one_element_per_sku_named_by_code() -> None:
    p = product(skus=[sku("B1-0001", barcode="6901234567890"), sku("B1-0002")])
    payload = build(
        {},
        {"sku_list": {"code": {"from": "skus[].sku_code"}, "bar": {"from": "skus[].barcode"},
                      "thumb": {"from": ["skus[].images[0]", "images[0]"]},
                      "fen": {"template": "{skus[].sku_code}/{skus[].barcode}"}}},
        p=p,
    )  # fmt: skip
    assert payload.doc["sku_list"] == [
        {"code": "B1-0001", "bar": "6901234567890", "fen": "B1-0001/6901234567890"},
        {"code": "B1-0002"},
    ]
    assert payload.sku_codes == {("sku_list",): ["B1-0001", "B1-0002"]}
    [issue] = payload.issues
    assert issue.field == "sku_list[B1-0002].fen" and issue.loc == ("sku_list", 1, "fen")
