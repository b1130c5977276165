"""The app's Streamlit settings, as Streamlit itself reads them from the project."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLBAR_MODES = {"auto", "developer", "viewer", "minimal"}
"""The values Streamlit's `client.toolbarMode` allows (see streamlit/config.py)."""

READ_OPTIONS = """
from streamlit import config
config.get_config_options(force_reparse=True)
print(config.get_option("client.toolbarMode"), config.get_option("client.showErrorDetails"))
"""


def test_the_deploy_button_is_hidden_and_errors_show_their_type_only() -> None:
    client = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))["client"]
    assert client["toolbarMode"] in TOOLBAR_MODES
    # A fresh interpreter in the project folder, as `streamlit run app.py` starts.
    shown = subprocess.run([sys.executable, "-c", READ_OPTIONS], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, check=True).stdout.split()
    assert shown == ["minimal", "type"]
