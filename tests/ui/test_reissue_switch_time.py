"""The Reissue certificate window's confirmation names the switch time of the moment OK
is pressed: on a store whose clock runs with real time (a real store, a training store
made to run) it named the time of the snapshot the window opened with, a minute or more
early by the time a person had chosen the term. A clock that stands still stays put. The
Certificate window's (Other certificate) confirmation likewise: it named the time its
files were checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from uikit import (
    ADDRESS,
    Env,
    ModalDriver,
    click,
    demo_env,
    in_other_certificate_window,
    key,
    make_certificate,
    make_env,
    open_certificates,
    open_window,
    wait_idle,
    write_pkcs12,
)

from kscert_gui.model.clock import FixedClock
from kscert_gui.services.demo import create_demo_store
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.ui import messages, text
from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
from kscert_gui.ui.dialogs.reissue import ReissueDialog

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

TERM_DAYS = 10
WAITED = timedelta(seconds=75)


def running_training_env(tmp_path: Path) -> Env:
    """The demo store whose clock runs with real time (as a person's first start makes it)."""
    secrets = MemorySecretStore()
    clock = FixedClock(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    home = tmp_path / "demo"
    create_demo_store(home, secrets, clock, pin_clock=False)
    return Env(home, secrets, clock, tmp_path)


def _confirmation_after_a_wait(
    qtbot: QtBot, env: Env, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, datetime]:
    """Reissue → a delayed term → the person waits → OK; the question asked, and the
    clock's instant when the window opened."""
    questions: list[str] = []

    def no(parent: QWidget | None, title: str, question: str, default_no: bool) -> bool:
        questions.append(question)
        return False  # back to the window, which is then cancelled

    monkeypatch.setattr(messages, "confirm", no)
    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)
    opened = env.clock()

    def fill(dialog: ReissueDialog) -> None:
        click(dialog.term.after_days)
        dialog.term.days.selectAll()
        for digit in str(TERM_DAYS):
            key(dialog.term.days, Qt.Key(Qt.Key.Key_0 + int(digit)))
        assert dialog.term.term_days() == TERM_DAYS
        env.clock.advance(WAITED)  # the person reads the window for a while
        click(dialog.ok_button)
        click(dialog.cancel_button)

    click(page.radio_issued)
    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    wait_idle(qtbot)
    assert len(questions) == 1
    return questions[0], opened


@pytest.mark.parametrize("make", [make_env, running_training_env],
                         ids=["real store", "training store running"])
def test_the_switch_time_is_the_one_of_pressing_ok(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: object
) -> None:
    assert callable(make)
    env = make(tmp_path)
    assert isinstance(env, Env)
    question, opened = _confirmation_after_a_wait(qtbot, env, monkeypatch)
    pressed = opened + WAITED
    assert f"main certificate at {text.instant(pressed + timedelta(days=TERM_DAYS))}." in (
        question), question
    assert text.instant(opened + timedelta(days=TERM_DAYS)) not in question


def test_a_clock_that_stands_still_names_the_same_time(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = demo_env(tmp_path)  # a pinned training clock: real time does not move it
    question, opened = _confirmation_after_a_wait(qtbot, env, monkeypatch)
    assert f"main certificate at {text.instant(opened + timedelta(days=TERM_DAYS))}." in (
        question), question


def test_the_certificate_window_names_the_switch_time_of_pressing_ok(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions: list[str] = []

    def no(parent: QWidget | None, title: str, question: str, default_no: bool) -> bool:
        questions.append(question)
        return False

    monkeypatch.setattr(messages, "confirm", no)
    env = make_env(tmp_path)
    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)
    opened = env.clock()
    p12 = write_pkcs12(tmp_path / "server.p12", make_certificate(ADDRESS), None)

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        click(dialog.term.after_days)
        dialog.term.days.selectAll()
        for digit in str(TERM_DAYS):
            key(dialog.term.days, Qt.Key(Qt.Key.Key_0 + int(digit)))
        qtbot.waitUntil(lambda: dialog.is_idle() and dialog.check is not None,
                        timeout=60_000)
        assert dialog.ok_button.isEnabled(), dialog.status_label.text()
        env.clock.advance(WAITED)
        click(dialog.ok_button)
        click(dialog.cancel_button)

    in_other_certificate_window(qtbot, page, fill)
    (question,) = questions
    switch = opened + WAITED + timedelta(days=TERM_DAYS)
    assert f"main certificate at {text.instant(switch)}." in question, question
