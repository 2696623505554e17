"""The shipped systemd units parse (systemd-analyze verify) and say what docs/deploy.md promises."""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
YPV = str(Path(sys.executable).with_name("ypv"))


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser


def test_units_verify(tmp_path):
    # verify needs ExecStart binaries that exist and users it can resolve: point them at this venv and root
    for unit in ("ypv@.service", "ypv-backup.service", "ypv-backup.timer"):
        text = (UNITS / unit).read_text().replace("/opt/ypv/.venv/bin/ypv", YPV)
        text = text.replace("User=ypv", "User=root").replace("Group=ypv", "Group=root")
        (tmp_path / unit.replace("@.", "@8081.")).write_text(text)
    result = subprocess.run([shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze", "verify",
                             *(str(p) for p in sorted(tmp_path.iterdir()))],
                            capture_output=True, text=True, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_service_runs_unprivileged_with_state_restart_and_reload():
    service = _unit("ypv@.service")["Service"]
    assert (service["User"], service["StateDirectory"], service["Restart"]) == ("ypv", "ypv", "on-failure")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["ExecStart"] == "/opt/ypv/.venv/bin/ypv serve"
    assert (UNITS / "ypv@.service").read_text().count("Environment=YPV_BIND=127.0.0.1:%i") == 1


def test_backup_timer_runs_the_backup_service_daily():
    assert _unit("ypv-backup.timer")["Timer"]["Persistent"] == "true"
    backup = _unit("ypv-backup.service")["Service"]
    assert backup["ExecStart"] == "/opt/ypv/.venv/bin/ypv backup /var/lib/ypv/backups --keep 14"
    assert backup["User"] == "ypv"
