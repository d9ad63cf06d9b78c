"""Checking products against the platforms' listing schemas: the issues, the score and
the brand's view of what blocks most products."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from engine.catalog.completeness import (
    _FORMATS,
    _compiled,
    _Validator,
    blockers,
    check,
    check_products,
    text_width,
    validate,
)
from engine.catalog.model import Product, SkuRecord
from engine.catalog.registry import PlatformSchema, Registry, default_registry

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return default_registry()


def sku(code: str, size: str, **fields: Any) -> SkuRecord:
    base: Doc = {
        "sku_code": code,
        "barcode": "6901234567892",
        "spec": {"尺码": size},
        "list_price": "399.00",
        "weight_g": 350,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 120,
        "images": [f"https://img.example.com/{code}.jpg"],
    }
    return SkuRecord(**{**base, **fields})


def product(category: list[str], attributes: Doc, **fields: Any) -> Product:
    """A product with every field a platform asks for, but the category attributes."""
    base: Doc = {
        "brand": "b1",
        "spu_code": f"P-{'-'.join(category)}",
        "title": "Stridewell 轻量缓震 2026新款",
        "category": category,
        "year": 2026,
        "season": "春",
        "series": "经典系列",
        "description": "轻量透气，详情见图。",
        "images": ["https://img.example.com/p/1.jpg", "https://img.example.com/p/2.jpg"],
        "attributes": {"品牌名": "Stridewell", "产地": "中国", **attributes},
        "skus": [sku("B1-0001", "40"), sku("B1-0002", "41")],
    }
    return Product(**{**base, **fields})


SHOE = {
    "材质": "网布",
    "鞋底材质": "EVA",
    "适用性别": "男",
    "闭合方式": "系带",
    "跑鞋类型": "缓震型",
}
FULL = {
    "running": product(["鞋靴", "跑步鞋"], SHOE),
    "casual": product(["鞋靴", "休闲鞋"], SHOE),
    "apparel": product(
        ["服饰", "T恤"],
        {"材质": "棉", "适用性别": "男女通用", "安全等级": "B类", "执行标准": "GB/T 22849-2014"},
        skus=[sku("B1-T01", "M"), sku("B1-T02", "L")],
    ),
    "beauty": product(
        ["美妆", "口红"],
        {
            "功效": "滋润",
            "规格类型": "正常规格",
            "净含量": "3.5g",
            "化妆品备案编号": "粤G妆网备字2026000001",
            "生产企业名称": "广州某某化妆品有限公司",
        },
        skus=[
            sku("B2-01", "01", spec={"色号": "01"}, shelf_life_days=1095),
            sku("B2-02", "02", spec={"色号": "02"}, shelf_life_days=1095),
        ],
    ),  # fmt: skip
    "home": product(
        ["家居", "收纳"],
        {"材质": "竹木", "风格": "简约", "适用空间": "客厅"},
        skus=[sku("B3-01", "小", spec={"颜色": "白色"}), sku("B3-02", "大", spec={"颜色": "米色"})],
    ),
}
SHOP = {
    "location.state": "上海",
    "location.city": "上海",
    "freight_template_id": "ft-1",
    "service_mobile": "021-60000000",
}


def shop(p: Product, **more: Any) -> Doc:
    return {**SHOP, "stock": {s.sku_code: 10 for s in p.skus}, **more}


def fields(issues: Any) -> set[str]:
    return {i.field for i in issues}


def attribute_object(schema: PlatformSchema) -> str:
    names = ("props", "goods_properties", "product_format_new")
    return next(n for n in names if n in schema.schema["properties"])


# --- ready products ------------------------------------------------------------------------


def test_a_product_with_every_field_filled_is_ready_on_every_platform(registry: Registry) -> None:
    seen = set()
    for p in FULL.values():
        for platform in registry.platforms():
            result = check(p, platform, registry, shop(p))
            if result.category_id is None:
                continue
            seen.add((platform, result.category_id))
            assert result.issues == [], (platform, p.category)
            assert result.ok and result.score == 1.0
            assert result.schema_version == 1 and result.spu_code == p.spu_code
    # Every shipped file was exercised.
    assert seen == {(s.platform, s.category_id) for s in registry.schemas()}


def test_a_product_no_category_takes_scores_zero(registry: Registry) -> None:
    kit = product(["套装"], {})
    result = check(kit, "tmall", registry, shop(kit))
    assert (result.category_id, result.schema_version, result.payload) == (None, None, {})
    [issue] = result.issues
    assert (issue.field, issue.rule, issue.value) == ("category", "no_category", "套装")
    assert result.score == 0.0 and not result.ok


# --- required fields -----------------------------------------------------------------------


def test_taobaos_nine_required_fields(registry: Registry) -> None:
    schema = registry.schema("taobao", "50012043")
    issues = validate(schema, {"location": {}})
    assert {i.field for i in issues if i.rule == "required"} == {
        "cid", "desc", "location.state", "location.city", "num", "price", "stuff_status",
        "title", "type",
    }  # fmt: skip


def test_pinduoduos_fourteen_and_nine_per_sku(registry: Registry) -> None:
    schema = registry.schema("pdd", "11685")
    issues = validate(schema, {"sku_list": [{}]}, {("sku_list",): ["B1-0001"]})
    required = {i.field for i in issues if i.rule == "required"}
    top = {f for f in required if "[" not in f}
    assert top == {
        "carousel_gallery",
        "cat_id",
        "cost_template_id",
        "country_id",
        "detail_gallery",
        "goods_name",
        "goods_type",
        "is_folt",
        "is_pre_sale",
        "is_refundable",
        "market_price",
        "second_hand",
        "shipment_limit_second",
    }  # fmt: skip  (the fourteenth, sku_list, is there)
    assert required - top == {
        f"sku_list[B1-0001].{name}"
        for name in ("is_onsale", "limit_quantity", "multi_price", "price", "quantity",
                     "sku_properties", "spec_id_list", "thumb_url", "weight")
    }  # fmt: skip
    without_list = validate(schema, {})
    assert "sku_list" in fields(without_list) and len(without_list) == 14


def test_douyins_eleven_required_fields(registry: Registry) -> None:
    issues = validate(registry.schema("douyin", "20062"), {})
    assert fields(issues) == {
        "product_type", "category_leaf_id", "name", "pic", "description", "reduce_type",
        "freight_id", "mobile", "commit", "specs", "spec_prices",
    }  # fmt: skip


@pytest.mark.parametrize("platform", ["tmall", "jd"])
def test_jd_and_tmall_require_their_core_fields_and_category_attributes(
    registry: Registry, platform: str
) -> None:
    for schema in registry.schemas(platform):
        props = attribute_object(schema)
        issues = validate(schema, {props: {}})
        expected = set(schema.schema["required"]) - {props}
        expected |= {f"{props}.{n}" for n in schema.schema["properties"][props]["required"]}
        assert fields(issues) == expected, schema.source
        attributes = schema.schema["properties"][props]["properties"]
        assert len(attributes) >= (30 if platform == "tmall" else 25)
        assert sum("enum" in a or "items" in a for a in attributes.values()) >= 12


def test_each_platform_reports_what_a_bare_product_lacks(registry: Registry) -> None:
    bare = Product(brand="b1", spu_code="BARE", title="x", category=["鞋靴", "跑步鞋"],
                   skus=[SkuRecord(sku_code="B1-9", list_price="1.00")])  # fmt: skip
    for platform in registry.platforms():
        result = check(bare, platform, registry)
        assert result.issues and 0 < result.score < 1, platform
        rules = {i.rule for i in result.issues}
        assert {"required", "shop_setting"} <= rules, platform
        # A field a missing shop setting leaves out is reported once, by its cause.
        shop_fields = [i.field for i in result.issues if i.rule == "shop_setting"]
        others = [i.field for i in result.issues if i.rule != "shop_setting"]
        assert not set(shop_fields) & set(others), platform


def test_sku_issues_name_the_sku_code(registry: Registry) -> None:
    p = FULL["running"]
    light = p.model_copy(
        update={"skus": [p.skus[0], p.skus[1].model_copy(update={"weight_g": None})]}
    )
    result = check(light, "pdd", registry, shop(light))
    assert [(i.field, i.rule) for i in result.issues] == [("sku_list[B1-0002].weight", "required")]
    # 14 + 4 attributes + 2 x 9 per SKU required fields, one missing.
    assert result.score == pytest.approx(35 / 36)


# --- value rules ---------------------------------------------------------------------------


def taobao_title(registry: Registry, title: str) -> list[tuple[str, str]]:
    p = FULL["running"].model_copy(update={"title": title})
    return [(i.field, i.rule) for i in check(p, "taobao", registry, shop(p)).issues]


def test_taobao_counts_a_chinese_character_as_two(registry: Registry) -> None:
    assert taobao_title(registry, "跑" * 30) == []
    assert taobao_title(registry, "跑" * 31) == [("title", "maxWidth")]
    assert taobao_title(registry, "a" * 60) == []
    assert taobao_title(registry, "a" * 61) == [("title", "maxWidth")]
    # Mixed: ASCII letters and spaces 1, Chinese characters and full-width commas 2.
    assert taobao_title(registry, "Stridewell 跑步鞋" + "x" * 43) == []  # 17 + 43
    assert taobao_title(registry, "Stridewell 跑步鞋" + "x" * 44) == [("title", "maxWidth")]
    assert taobao_title(registry, "Nike 跑鞋，" + "a" * 49) == []  # 11 + 49
    assert taobao_title(registry, "Nike 跑鞋，" + "a" * 50) == [("title", "maxWidth")]
    assert text_width("Nike 跑鞋，") == 11
    assert text_width("ｶﾀｶﾅ") == 4  # half-width forms count 1


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_width_is_length_plus_one_per_wide_character(text: str) -> None:
    narrow = sum(1 for c in text if c.isascii()) + sum(
        1 for c in text if not c.isascii() and text_width(c) == 1
    )
    assert text_width(text) == narrow + 2 * (len(text) - narrow)
    assert len(text) <= text_width(text) <= 2 * len(text)
    assert text_width("中" * len(text)) == 2 * len(text)


def test_a_value_outside_the_platforms_list(registry: Registry) -> None:
    p = FULL["running"]
    odd = p.model_copy(update={"attributes": {**p.attributes, "鞋底材质": "木头"}})
    [issue] = check(odd, "tmall", registry, shop(odd)).issues
    assert (issue.field, issue.rule, issue.value) == ("props.鞋底材质", "enum", "木头")
    assert "EVA" in issue.message


def test_numeric_and_count_limits(registry: Registry) -> None:
    p = FULL["running"]
    many = shop(p, stock={"B1-0001": 999_999, "B1-0002": 1}, seller_cids=list(range(11)))
    result = check(p, "taobao", registry, many)
    assert {(i.field, i.rule) for i in result.issues} == {
        ("num", "maximum"),
        ("seller_cids", "maxItems"),
    }
    assert result.score < 1 and not result.ok
    heavy = p.model_copy(update={"skus": [s.model_copy(update={"weight_g": 0}) for s in p.skus]})
    issues = check(heavy, "pdd", registry, shop(heavy)).issues
    assert {(i.field, i.rule) for i in issues} == {
        ("sku_list[B1-0001].weight", "minimum"),
        ("sku_list[B1-0002].weight", "minimum"),
    }


def test_urls_are_checked(registry: Registry) -> None:
    p = FULL["running"].model_copy(
        update={"images": ["img/1.jpg", "https://img.example.com/2.jpg"]}
    )
    issues = check(p, "tmall", registry, shop(p)).issues
    assert [(i.field, i.rule) for i in issues] == [("images[0]", "format")]


def test_an_unmapped_value_is_reported_once(registry: Registry) -> None:
    p = FULL["running"].model_copy(update={"season": "四季通用"})
    for platform in ("tmall", "jd", "pdd", "douyin", "taobao"):
        issues = check(p, platform, registry, shop(p)).issues
        assert [(i.rule, i.value) for i in issues] == [("unmapped", "四季通用")], platform


# --- conditional requirements --------------------------------------------------------------


def pdd_shoe(**attributes: str) -> list[tuple[str, str]]:
    p = FULL["running"]
    changed = p.model_copy(update={"attributes": {**p.attributes, **attributes}})
    return [
        (i.field, i.rule) for i in check(changed, "pdd", default_registry(), shop(changed)).issues
    ]


def test_pdd_leather_type_is_required_only_for_leather() -> None:
    assert pdd_shoe(材质="网布") == []
    assert pdd_shoe(材质="真皮") == [("goods_properties.皮质特征", "if-then")]
    assert pdd_shoe(材质="二层牛皮") == [("goods_properties.皮质特征", "if-then")]
    assert pdd_shoe(材质="真皮", 皮质特征="头层牛皮") == []


def test_pdd_heel_height_rule_is_an_or_of_ands() -> None:
    heel = [("goods_properties.鞋跟高度", "if-then")]
    assert pdd_shoe(适用性别="女", 鞋头款式="尖头") == heel
    assert pdd_shoe(适用性别="女", 鞋头款式="圆头") == []
    assert pdd_shoe(适用性别="男", 鞋头款式="尖头") == []
    assert pdd_shoe(风格="正装") == heel
    assert pdd_shoe(风格="正装", 鞋跟高度="平跟(≤1cm)") == []


def test_pdd_apparel_down_content_rule() -> None:
    p = FULL["apparel"]
    down = [("goods_properties.含绒量", "if-then")]

    def issues(**attributes: str) -> list[tuple[str, str]]:
        changed = p.model_copy(update={"attributes": {**p.attributes, **attributes}})
        found = check(changed, "pdd", default_registry(), shop(changed)).issues
        return [(i.field, i.rule) for i in found]

    assert issues(填充物="羽绒") == down
    assert issues(厚薄="加厚") == []
    assert check(p.model_copy(update={"season": "冬"}), "pdd", default_registry(), shop(p)).ok
    winter = p.model_copy(update={"season": "冬", "attributes": {**p.attributes, "厚薄": "加厚"}})
    found = check(winter, "pdd", default_registry(), shop(winter)).issues
    assert [(i.field, i.rule) for i in found] == down
    assert "down content" in found[0].message  # the rule says why in words


def test_tmall_wool_content_rule_and_dependent_fields(registry: Registry) -> None:
    p = FULL["apparel"]

    def issues(**attributes: str) -> list[tuple[str, str]]:
        changed = p.model_copy(update={"attributes": {**p.attributes, **attributes}})
        return [(i.field, i.rule) for i in check(changed, "tmall", registry, shop(changed)).issues]

    assert issues(材质="羊毛") == [("props.羊毛含量", "if-then")]
    assert issues(材质="羊毛", 羊毛含量="80%") == []
    bare = {k: v for k, v in p.attributes.items() if k != "执行标准"}
    no_standard = p.model_copy(update={"attributes": bare})
    found = check(no_standard, "tmall", registry, shop(no_standard)).issues
    assert [(i.field, i.rule) for i in found] == [("props.执行标准", "dependentRequired")]
    assert "安全等级" in found[0].message


def test_dependent_requirements_fire_only_when_their_field_is_given() -> None:
    assert pdd_shoe(进口原产国="越南") == [("goods_properties.报关单号", "dependentRequired")]
    assert pdd_shoe(进口原产国="越南", 报关单号="123456789012345678") == []
    assert pdd_shoe(报关单号="123456789012345678") == []


def test_conditions_that_hold_count_in_the_score(registry: Registry) -> None:
    leather = pdd_shoe(材质="真皮")
    assert leather
    p = FULL["running"]
    changed = p.model_copy(update={"attributes": {**p.attributes, "材质": "真皮"}})
    result = check(changed, "pdd", registry, shop(changed))
    # 14 + 4 attributes + 1 condition + 2 x 9 per SKU: 37 required, one missing.
    assert result.score == pytest.approx(36 / 37)


# --- score ---------------------------------------------------------------------------------


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(FULL)),
    st.lists(st.sampled_from(["title", "images", "description", "year", "season"]), unique=True),
    st.sets(
        st.sampled_from(["材质", "适用性别", "鞋底材质", "功效", "净含量", "风格", "适用空间"])
    ),
    st.booleans(),
)
def test_the_score_is_one_exactly_when_ready(
    kind: str, blanks: list[str], dropped: set[str], with_shop: bool
) -> None:
    registry = default_registry()
    p = FULL[kind]
    empty: Doc = {"title": "x" * 200, "images": [], "description": "", "year": None, "season": ""}
    attributes = {k: v for k, v in p.attributes.items() if k not in dropped}
    changed = p.model_copy(update={**{b: empty[b] for b in blanks}, "attributes": attributes})
    for platform in registry.platforms():
        result = check(changed, platform, registry, shop(changed) if with_shop else None)
        assert 0.0 <= result.score <= 1.0
        assert (result.score == 1.0) == result.ok
        assert result.ok == (not result.issues)


# --- the brand's view ----------------------------------------------------------------------


def test_blockers_most_common_first(registry: Registry) -> None:
    base = FULL["running"]
    products = []
    for n in range(6):
        attributes = dict(base.attributes)
        if n < 4:
            del attributes["适用性别"]  # 4 products
        if n < 2:
            attributes["材质"] = "真皮"  # 2 products (a condition on pdd and tmall)
        skus = base.skus if n != 5 else [s.model_copy(update={"weight_g": None}) for s in base.skus]
        products.append(base.model_copy(update={"spu_code": f"P{n}", "attributes": attributes,
                                                "skus": skus}))  # fmt: skip
    products.append(product(["套装"], {}, spu_code="KIT"))
    contexts = {
        platform: {**SHOP, "stock": {"B1-0001": 1, "B1-0002": 1}}
        for platform in registry.platforms()
    }
    checks = check_products(products, ["pdd", "tmall"], registry, contexts)
    assert len(checks) == 14
    ranked = blockers(checks)
    top = [(b.platform, b.field, b.rule, b.count) for b in ranked]
    assert top == [
        ("pdd", "goods_properties.适用性别", "required", 4),
        ("tmall", "props.适用性别", "required", 4),
        ("pdd", "goods_properties.皮质特征", "if-then", 2),
        ("tmall", "props.皮质特征", "if-then", 2),
        ("pdd", "category", "no_category", 1),
        ("pdd", "sku_list[].weight", "required", 1),  # both SKUs, one product
        ("tmall", "category", "no_category", 1),
    ]
    assert ranked[0].examples == ("P0", "P1", "P2")
    assert blockers(checks, examples=1)[2].examples == ("P0",)
    assert ranked[5].examples == ("P5",)


# --- the validator -------------------------------------------------------------------------


def test_each_schema_is_compiled_once(registry: Registry) -> None:
    schema = registry.schema("tmall", "50012044")
    assert _compiled(schema) is _compiled(schema)


def plain_locations(schema: PlatformSchema, doc: Doc) -> set[tuple[Any, ...]]:
    """Where jsonschema itself, on the whole payload, finds faults."""
    found: set[tuple[Any, ...]] = set()
    validator = _Validator(schema.schema, format_checker=_FORMATS)
    for err in validator.iter_errors(doc):
        path = tuple(err.absolute_path)
        if err.validator in ("required", "dependentRequired"):
            names = (
                err.validator_value
                if err.validator == "required"
                else [d for t, ds in err.validator_value.items() if t in err.instance for d in ds]
            )
            found.update((*path, n) for n in names if n not in err.instance)
        elif err.validator == "additionalProperties":
            known = err.schema.get("properties", {})
            found.update((*path, n) for n in err.instance if n not in known)
        else:
            found.add(path)
    return found


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.text(max_size=70),
    st.sampled_from(
        [
            "真皮",
            "女",
            "尖头",
            "正装",
            "羽绒",
            "加厚",
            "冬季",
            "厨房",
            "棉",
            "卧室",
            "https://x.cn/a.jpg",
        ]
    ),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


def mutate(doc: Doc, data: st.DataObject) -> Doc:
    """A payload with some fields removed, replaced or added, at any depth."""
    out = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(min_value=0, max_value=6))):
        target: Any = out
        while isinstance(target, dict | list) and target and data.draw(st.booleans()):
            key = data.draw(
                st.sampled_from(sorted(target) if isinstance(target, dict) else range(len(target)))
            )
            if not isinstance(target[key], dict | list):
                break
            target = target[key]
        if isinstance(target, dict):
            keys = sorted(target)
            action = data.draw(st.sampled_from(["drop", "set", "add"]))
            if action == "add" or not keys:
                target[
                    data.draw(st.sampled_from(["x", "品牌", "皮质特征", "鞋跟高度", "报关单号"]))
                ] = data.draw(JUNK)
            elif action == "drop":
                del target[data.draw(st.sampled_from(keys))]
            else:
                target[data.draw(st.sampled_from(keys))] = data.draw(JUNK)
        elif isinstance(target, list) and target:
            target[data.draw(st.integers(0, len(target) - 1))] = data.draw(JUNK)
    return out


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_split_validator_finds_what_jsonschema_finds(data: st.DataObject) -> None:
    registry = default_registry()
    schema = data.draw(st.sampled_from(registry.schemas()))
    p = next(q for q in FULL.values() if registry.categories_for(schema.platform, q) is schema)
    doc = mutate(check(p, schema.platform, registry, shop(p)).payload, data)
    assert {i.loc for i in validate(schema, doc)} == plain_locations(schema, doc)
    Draft202012Validator.check_schema(schema.schema)


def test_pdd_home_rules(registry: Registry) -> None:
    p = FULL["home"]

    def issues(**attributes: str) -> list[tuple[str, str]]:
        changed = p.model_copy(update={"attributes": {**p.attributes, **attributes}})
        return [(i.field, i.rule) for i in check(changed, "pdd", registry, shop(changed)).issues]

    food = [("goods_properties.食品接触用", "if-then")]
    assert issues(材质="不锈钢", 适用空间="厨房") == food
    assert issues(材质="陶瓷", 适用空间="厨房") == food
    assert issues(材质="不锈钢", 适用空间="客厅") == []
    assert issues(材质="竹木", 适用空间="厨房") == []
    assert issues(材质="不锈钢", 适用空间="厨房", 食品接触用="是") == []
    yarn = [("goods_properties.纱支", "if-then")]
    assert issues(材质="棉", 适用空间="卧室") == yarn
    assert issues(面料织法="贡缎") == yarn
    assert issues(材质="棉", 适用空间="客厅") == []
    assert issues(执行标准="GB/T 22796-2021") == [
        ("goods_properties.质量等级", "dependentRequired")
    ]
