"""`make screenshots` is reproducible and leaves git clean when nothing changed."""

from __future__ import annotations

import datetime as dt

from PIL import Image

from csm_analytics.reports.render import generated_on, render
from csm_analytics.reports.screenshots import replace_if_changed, same_pixels


def _png(path, colour, size=(20, 10)):
    Image.new("RGB", size, colour).save(path, optimize=True)
    return path


def test_an_unchanged_picture_is_not_rewritten(tmp_path):
    target = _png(tmp_path / "shot.png", "white")
    before = target.stat().st_mtime_ns, target.read_bytes()
    fresh = tmp_path / "fresh.png"
    Image.new("RGB", (20, 10), "white").save(fresh, compress_level=1)  # same pixels, different bytes
    assert fresh.read_bytes() != before[1] and same_pixels(fresh, target)
    assert replace_if_changed(fresh, target) is False
    assert (target.stat().st_mtime_ns, target.read_bytes()) == before and not fresh.exists()


def test_a_changed_or_new_picture_is_written(tmp_path):
    target = _png(tmp_path / "shot.png", "white")
    assert replace_if_changed(_png(tmp_path / "fresh.png", "black"), target) is True
    assert Image.open(target).getpixel((0, 0)) == (0, 0, 0)
    assert replace_if_changed(_png(tmp_path / "fresh.png", "black", (21, 10)), target) is True
    assert replace_if_changed(_png(tmp_path / "fresh.png", "red"), tmp_path / "new.png") is True


def test_generated_date_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(2026, 9, 30, tzinfo=dt.timezone.utc).timestamp())))
    assert generated_on() == dt.date(2026, 9, 30)
    html = render("daily_brief.html.j2", csm_name="Dana", rows=[], as_of=dt.date(2026, 9, 30))
    assert html == render("daily_brief.html.j2", csm_name="Dana", rows=[], as_of=dt.date(2026, 9, 30))
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert generated_on() == dt.date.today()
