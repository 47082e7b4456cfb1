"""Pickers over the group tree: **Add device from group** and the scope group picker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.services.views import HostDevice, ScopeGroup
from kscert_gui.ui import ids, resources
from kscert_gui.ui.widgets.request_dialog import RequestDialog

#: Item data: ("group", ScopeGroup) or ("device", HostDevice).
ITEM_ROLE = Qt.ItemDataRole.UserRole


def fill_group_tree(tree: QTreeWidget, groups: Sequence[ScopeGroup]) -> dict[int, QTreeWidgetItem]:
    """Groups as a tree (roots first); returns the item of each group id."""
    items: dict[int, QTreeWidgetItem] = {}
    by_parent: dict[int | None, list[ScopeGroup]] = {}
    known = {g.id for g in groups}
    for g in groups:
        parent = g.parent_id if g.parent_id in known else None
        by_parent.setdefault(parent, []).append(g)
    stack: list[tuple[QTreeWidgetItem | None, int | None]] = [(None, None)]
    while stack:
        parent_item, parent_id = stack.pop()
        for g in sorted(by_parent.get(parent_id, []), key=lambda g: g.name.lower()):
            item = QTreeWidgetItem([g.name])
            item.setData(0, ITEM_ROLE, ("group", g))
            item.setIcon(0, resources.icon("devices"))
            item.setToolTip(0, g.path)
            if parent_item is None:
                tree.addTopLevelItem(item)
            else:
                parent_item.addChild(item)
            items[g.id] = item
            stack.append((item, g.id))
    return items


T = TypeVar("T")


class _PickerDialog(RequestDialog[T]):
    """A tree, a hint and OK / Cancel; subclasses say which items may be chosen. The
    answer is the value of the chosen item (its ``ITEM_ROLE`` data).
    """

    def __init__(self, title: str, hint: str, name: str, tree_name: str,
                 parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.hint = QLabel(hint)
        self.hint.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName(tree_name)
        self.tree.setAccessibleName(title)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._make_buttons()
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.buttons)
        self.tree.currentItemChanged.connect(lambda *_: self._sync())
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.resize(460, 420)

    def _choosable(self, item: QTreeWidgetItem | None) -> bool:
        raise NotImplementedError

    def _sync(self) -> None:
        self.ok_button.setEnabled(self._choosable(self.tree.currentItem()))

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        if self._choosable(item):
            self.tree.setCurrentItem(item)
            self.accept()

    def accept(self) -> None:
        item = self.tree.currentItem()
        if item is None or not self._choosable(item):
            return
        self._result = item.data(0, ITEM_ROLE)[1]
        super().accept()

    def find_item(self, text: str) -> QTreeWidgetItem:
        """The item showing ``text`` in its first column (tests, automation)."""
        found = self.tree.findItems(text, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive)
        if not found:
            raise LookupError(f"no item '{text}'")
        return found[0]


class DevicePickerDialog(_PickerDialog[HostDevice]):
    """**Add device from group**: the hosts (Windows, Linux, macOS) under each group."""

    def __init__(
        self,
        groups: Sequence[ScopeGroup],
        devices: Sequence[HostDevice],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Add device from group",
            "Select the device to act as a distribution point. Only Windows, Linux and macOS "
            "hosts can act as distribution points; managed mobile devices are not listed.",
            ids.DEVICE_PICKER,
            ids.DEVICE_PICKER_TREE,
            parent,
        )
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Device", "Platform"])
        group_items = fill_group_tree(self.tree, groups)
        for device in devices:
            parent_item = group_items.get(device.group_id)
            item = QTreeWidgetItem([device.name, device.platform])
            item.setData(0, ITEM_ROLE, ("device", device))
            item.setIcon(0, resources.icon("server"))
            if device.is_distribution_point:
                item.setText(1, f"{device.platform} (already a distribution point)")
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            if parent_item is None:
                self.tree.addTopLevelItem(item)
            else:
                parent_item.addChild(item)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self._sync()

    def _choosable(self, item: QTreeWidgetItem | None) -> bool:
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return False
        kind, _value = item.data(0, ITEM_ROLE)
        return bool(kind == "device")

    @classmethod
    def ask(
        cls,
        parent: QWidget | None,
        groups: Sequence[ScopeGroup],
        devices: Sequence[HostDevice],
    ) -> HostDevice | None:
        return cls(groups, devices, parent).run()


class GroupPickerDialog(_PickerDialog[ScopeGroup]):
    """**Distribution point scope**: pick a group."""

    def __init__(
        self,
        groups: Sequence[ScopeGroup],
        current: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Select group",
            "Select the group of devices that this distribution point serves.",
            ids.GROUP_PICKER,
            ids.GROUP_PICKER_TREE,
            parent,
        )
        self.tree.setHeaderLabels(["Group"])
        items = fill_group_tree(self.tree, groups)
        self.tree.expandAll()
        if current is not None and current in items:
            self.tree.setCurrentItem(items[current])
        self._sync()

    def _choosable(self, item: QTreeWidgetItem | None) -> bool:
        return item is not None and item.data(0, ITEM_ROLE)[0] == "group"

    @classmethod
    def ask(
        cls, parent: QWidget | None, groups: Sequence[ScopeGroup], current: int | None = None
    ) -> ScopeGroup | None:
        return cls(groups, current, parent).run()
