"""The report's mail body, made for mail clients: the demo's Double-11 report stays under
Gmail's ~102 KB clipping, shows every headline figure with its definition, each chart
as a PNG named by `cid:` (every one sent, every one shown, each opening as a sharp
image) and the first rows of each table; a real SMTP server on loopback (aiosmtpd)
receives the mail and its MIME tree is read back: mixed[related[alternative[text, html],
images], xlsx, pdf], each image inline with the Content-ID the HTML names."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pypdf
import pytest
from PIL import Image

from engine.reports.delivery.log import DeliveryLog
from engine.reports.delivery.mail import MailServer, send_mail
from engine.reports.delivery.message import PDF, PNG, XLSX, InlineImage, Message, Target
from engine.reports.delivery.retry import Retry
from engine.reports.demo import demo_inputs
from engine.reports.figures import build_report
from engine.reports.model import Column, Report, Section, Table, Text
from engine.reports.render import file_name
from engine.reports.render.mail import CHART_PX, ROWS_IN_MAIL, MailBody, mail_body
from engine.reports.render.values import shown
from engine.services.reports import Built, built_message, draw
from tests.reports.logs import sqlite_log
from tests.reports.sample import HOSTILE_SHOP, HOSTILE_SKU, REPORT
from tests.reports.smtp import smtp_server
from tests.reports.test_render_html import Page

START, END, TODAY = date(2026, 11, 10), date(2026, 11, 12), date(2026, 12, 3)
GMAIL_CLIPS_AT = 102_000  # bytes of HTML; Gmail hides the rest behind a link
HTML_AT_MOST = 100_000  # with room for the headers Gmail counts too
IMAGES_AT_MOST = 400_000  # all the charts' PNGs of one mail
KEY = "acme/b1/campaign/2026-11-10..2026-11-12"
TO = "ceo@brand.example"


@pytest.fixture(scope="module")
def demo() -> Report:
    return build_report(demo_inputs("b1", START, END, today=TODAY, skus=300))


@pytest.fixture(scope="module", params=["en", "zh"])
def body(request: pytest.FixtureRequest, demo: Report) -> tuple[str, MailBody]:
    return request.param, mail_body(demo, request.param)


def _cids(html: str) -> list[str]:
    return re.findall(r'src="cid:([^"]+)"', html)


def test_the_demo_body_is_not_clipped_and_its_images_stay_small(
    body: tuple[str, MailBody], demo: Report
) -> None:
    _, mail = body
    size = len(mail.html.encode())
    assert size < HTML_AT_MOST < GMAIL_CLIPS_AT, size
    assert "<svg" not in mail.html  # Gmail and desktop Outlook would show nothing
    assert 0 < sum(len(i.content) for i in mail.images) < IMAGES_AT_MOST
    charts = sum(len(s.charts) for s in demo.sections)
    assert len(mail.images) == charts == 9


def test_every_headline_figure_is_there_with_its_definition(
    body: tuple[str, MailBody], demo: Report
) -> None:
    lang, mail = body
    texts = Page(mail.html).texts
    figures = [f for s in demo.sections for f in s.figures]
    assert len(figures) >= 15
    for section in demo.sections:
        assert section.title(lang) in texts
    for f in figures:
        at = texts.index(f.label(lang))  # label, value, definition: read in that order
        assert texts[at + 1 : at + 3] == [shown(f.value, f.kind), f.definition(lang)], f.key


def test_each_cid_names_one_image_sent_and_each_image_is_shown(body: tuple[str, MailBody]) -> None:
    _, mail = body
    named = _cids(mail.html)
    sent = [i.content_id for i in mail.images]
    assert len(set(named)) == len(named) and len(set(sent)) == len(sent)
    assert sorted(named) == sorted(sent)


def test_each_chart_opens_as_a_png_sharp_at_the_width_it_is_laid_out(
    body: tuple[str, MailBody],
) -> None:
    _, mail = body
    images = {i.content_id: i for i in mail.images}
    for tag, attrs in Page(mail.html).tags:
        if tag != "img":
            continue
        image = images[str(attrs["src"]).removeprefix("cid:")]
        assert image.mime == PNG
        with Image.open(io.BytesIO(image.content)) as png:
            assert png.format == "PNG"
            png.load()  # decodes every pixel: a truncated image fails here
            width, height = png.size
            colours = png.getcolors(256)
        assert int(str(attrs["width"])) == CHART_PX
        assert width >= 2 * CHART_PX  # twice the pixels: sharp on a retina screen
        assert int(str(attrs["height"])) == round(CHART_PX * height / width)
        assert attrs["alt"]
        assert colours is not None and len(colours) > 4  # drawn, not a blank


def test_the_same_report_gives_the_same_images(demo: Report) -> None:
    products = replace(demo, sections=(demo.section("products"),))
    first, again = mail_body(products, "en"), mail_body(products, "en")
    assert first == again  # a client caching by Content-ID gets the same picture


def test_long_tables_are_cut_and_point_to_the_attachments() -> None:
    rows = tuple((f"SKU-{n:03d}", 100 - n) for n in range(25))
    long = Section(
        key="products",
        title=Text("Products", "商品"),
        tables=(
            Table(
                "all",
                Text("All products", "全部商品"),
                (
                    Column("sku", Text("SKU", "商品编码"), "text"),
                    Column("u", Text("U", "件"), "units"),
                ),
                rows,
            ),
        ),
    )
    mail = mail_body(replace(REPORT, sections=(long,)), "en")
    texts = Page(mail.html).texts
    assert [r[0] for r in rows if r[0] in texts] == [r[0] for r in rows[:ROWS_IN_MAIL]]
    assert "15 more rows are in the XLSX attachment." in texts
    assert any("full tables are in the attached workbook (XLSX) and PDF" in t for t in texts)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_hostile_text_is_shown_not_run_and_an_empty_section_says_why(lang: str) -> None:
    mail = mail_body(REPORT, lang)
    parsed = Page(mail.html)
    assert HOSTILE_SKU in parsed.texts and HOSTILE_SHOP in parsed.texts
    assert parsed.count("script") == 0 and parsed.count("b") == 0
    settlement = REPORT.section("settlement")
    assert settlement.empty is not None and settlement.empty(lang) in parsed.texts
    assert parsed.count("style") == 0  # Outlook's own block sits in a comment
    assert len(mail.images) == sum(len(s.charts) for s in REPORT.sections)


def test_an_inline_image_needs_a_content_id_a_url_can_carry() -> None:
    assert InlineImage("sales-gmv-0a1b@omnistock", b"png").mime == PNG
    for bad in ("no-at-sign", "a b@omnistock", "<x@omnistock>", "x@omni/stock", "x%20@o"):
        with pytest.raises(ValueError, match="content id"):
            InlineImage(bad, b"png")
    with pytest.raises(ValueError, match="not image/"):
        InlineImage("x@omnistock", b"%PDF", PDF)


# --- the mail as a real SMTP server receives it -------------------------------------------


@pytest.fixture(scope="module")
def built(demo: Report) -> Built:
    return draw(demo, "zh")


@pytest.fixture(scope="module")
def message(built: Built) -> Message:
    return built_message(built)


def _received(message: Message, tmp_path: Path) -> EmailMessage:
    server = MailServer("127.0.0.1", 0, "omnistock <reports@agency.example>", starttls=False)
    with sqlite_log(tmp_path) as log, smtp_server() as smtp:
        record = log.recorder("acme", "b1", KEY, Target("mail", TO))
        sent = send_mail(
            replace(server, port=smtp.port), Retry(attempts=1), message, TO, KEY, record
        )
        assert sent.outcome == "sent", sent.reason
        assert _outcomes(log) == ["sent"]
    [mail] = smtp.inbox.mails
    return mail


def _outcomes(log: DeliveryLog) -> list[str]:
    return [r.outcome for r in log.read("acme", key=KEY)]


def test_the_mail_arrives_with_its_charts_in_a_related_part(
    built: Built, message: Message, tmp_path: Path
) -> None:
    assert len(message.html.encode()) < HTML_AT_MOST and message.images
    mail = _received(message, tmp_path)

    assert mail.get_content_type() == "multipart/mixed" and mail["MIME-Version"] == "1.0"
    related, *attached = mail.iter_parts()
    assert related.get_content_type() == "multipart/related"
    assert related.get_param("type") == "multipart/alternative"
    alternative, *images = related.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = alternative.iter_parts()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert isinstance(html, EmailMessage) and isinstance(text, EmailMessage)
    body = html.get_content().replace("\r\n", "\n")
    assert body.rstrip("\n") == message.html
    assert text.get_content().replace("\r\n", "\n").rstrip("\n") == message.text

    sent = {i.content_id: i.content for i in message.images}
    received = {}
    for image in images:
        assert isinstance(image, EmailMessage)
        assert image.get_content_type() == "image/png"
        assert image.get_content_disposition() == "inline"
        received[str(image["Content-ID"]).strip("<>")] = image.get_content()
    assert received == sent
    assert sorted(_cids(body)) == sorted(received)

    files = {str(part.get_filename()): part for part in attached}
    report = built.report
    xlsx, pdf = file_name(report, "zh", "xlsx"), file_name(report, "zh", "pdf")
    assert sorted(files) == sorted([xlsx, pdf])
    assert files[xlsx].get_content_type() == XLSX
    assert files[pdf].get_content_type() == PDF
    assert openpyxl.load_workbook(io.BytesIO(files[xlsx].get_content())).sheetnames
    assert len(pypdf.PdfReader(io.BytesIO(files[pdf].get_content())).pages) >= 1
    assert [str(p.get_filename()) for p in mail.iter_attachments()] == [xlsx, pdf]


def test_a_message_without_images_keeps_the_old_tree(message: Message, tmp_path: Path) -> None:
    mail = _received(replace(message, images=()), tmp_path)
    alternative, *attached = mail.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert len(attached) == 2
