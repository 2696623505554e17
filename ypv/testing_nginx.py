"""Run the shipped nginx site config (deploy/nginx/ypv.conf) in front of real ypv instances.

For tests and deploy/measure.py: nginx runs in the foreground as a child process
with its own prefix, pid, temp and log paths in a scratch directory, on free
127.0.0.1 ports, with a self-signed certificate for 127.0.0.1. Only ports and
paths of the shipped file are substituted, and each substitution must match, so
a change to the shipped file that the tests no longer cover fails loudly.
"""

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from ypv.testing import free_port, stop_process, wait_until_listening

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every user's PATH
SITE_CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "ypv.conf"


def _replace(text: str, pattern: str, replacement: str, count: int) -> str:
    new, found = re.subn(pattern, replacement, text, flags=re.M)
    if found != count:
        raise AssertionError(f"{pattern!r} matched {found} times in the site config, expected {count}")
    return new


class NginxProxy:
    def __init__(self, workdir: str | Path, upstream_ports: list[int], site_conf: Path = SITE_CONF):
        self.dir = Path(workdir).resolve()
        (self.dir / "temp").mkdir(parents=True, exist_ok=True)
        self.site_conf = site_conf
        self.upstream_ports = upstream_ports
        self.https_port, self.http_port = free_port(), free_port()
        self.https_url = f"https://127.0.0.1:{self.https_port}"
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.handler_url = f"{self.https_url}/stubs/handler_api.php"
        self.cert, self.key = self.dir / "cert.pem", self.dir / "key.pem"
        self.access_log, self.error_log = self.dir / "access.log", self.dir / "error.log"
        self.process: subprocess.Popen | None = None

    def site(self) -> str:
        text = self.site_conf.read_text()
        text = _replace(text, r"^    listen \[::\]:(80|443)( ssl)?;\n", "", 2)
        text = _replace(text, r"^    listen 80;", f"    listen 127.0.0.1:{self.http_port};", 1)
        text = _replace(text, r"^    listen 443 ssl;", f"    listen 127.0.0.1:{self.https_port} ssl;", 1)
        text = _replace(text, r"ssl_certificate \S+;", f"ssl_certificate {self.cert};", 1)
        text = _replace(text, r"ssl_certificate_key \S+;", f"ssl_certificate_key {self.key};", 1)
        text = _replace(text, r"/var/log/nginx/ypv\.access\.log", str(self.access_log), 2)
        text = _replace(text, r"/var/log/nginx/ypv\.error\.log", str(self.error_log), 2)
        servers = "".join(f"    server 127.0.0.1:{port} max_fails=0;\n" for port in self.upstream_ports)
        return _replace(text, r"^    server 127\.0\.0\.1:8081 max_fails=0;\n", servers, 1)

    def main_conf(self) -> str:
        temp = self.dir / "temp"
        # As root, workers would drop to "nobody", who cannot enter pytest's private tmp directories.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
        return (f"daemon off;\n{user}worker_processes 1;\npid {self.dir / 'nginx.pid'};\n"
                f"error_log {self.dir / 'main-error.log'} warn;\n"
                "events { worker_connections 1024; }\n"
                "http {\n"
                + "".join(f"    {kind}_temp_path {temp / kind};\n"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
                + f"    include {self.dir / 'ypv.conf'};\n}}\n")

    def start(self) -> "NginxProxy":
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self.key), "-out", str(self.cert)], check=True, capture_output=True)
        (self.dir / "ypv.conf").write_text(self.site())
        (self.dir / "nginx.conf").write_text(self.main_conf())
        command = [NGINX, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                   "-e", str(self.dir / "startup-error.log")]
        subprocess.run([*command, "-t"], check=True, capture_output=True)
        output = open(self.dir / "nginx.out", "ab")
        self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        output.close()
        wait_until_listening(self.process, self.https_port, self.dir / "nginx.out", "nginx", timeout=15)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def written_files(self) -> list[Path]:
        return [p for p in self.dir.rglob("*") if p.is_file() and p.name not in ("key.pem", "cert.pem")]
