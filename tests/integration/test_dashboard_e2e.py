"""The whole chain in a browser: the fault button of a real engine turns its tile red."""

from __future__ import annotations

import pytest

from tests.integration.test_dashboard_browser import GREEN, RED, wait_background

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_fault_button_turns_the_tile_red(network, browser, output_dir):
    cp = network.cps[0]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(network.url + "/")
    tile = page.locator(f"#cp-{cp.cp_id}")
    tile.and_(page.locator('[data-state="ACTIVATED"]')).wait_for(timeout=10_000)
    # by selector, not through the located node: an update replaces a tile's node, and a
    # node replaced a moment before has no computed colour ('')
    wait_background(page, f"#cp-{cp.cp_id}", GREEN)

    network.panel(cp, "press", "fault")
    tile.and_(page.locator('[data-state="BROKEN"]')).wait_for(timeout=3_000)
    wait_background(page, f"#cp-{cp.cp_id}", RED)  # the colour transition has finished
    assert "Broken down" in tile.inner_text()
    page.screenshot(path=str(output_dir / "fault-pressed.png"), full_page=True)

    network.panel(cp, "press", "fault")
    tile.and_(page.locator('[data-state="ACTIVATED"]')).wait_for(timeout=3_000)
    page.close()
