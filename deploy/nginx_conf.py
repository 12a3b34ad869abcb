"""Write the nginx.conf of one set of app processes: deploy/nginx.conf with this set's upstreams, listen address,
the CSP hash(es) of the installed Streamlit's inline script, and a copy of the installed Streamlit's front-end
files in the run directory (nginx serves them itself, so the app processes do not spend their one core on them;
a copy because nginx's workers run as nobody and may not read the Python installation, e.g. under /root).
The one place serve.sh and run.sh make it.

    python3 deploy/nginx_conf.py --workers 2 --base-port 8501 --listen 127.0.0.1:8080 --run-dir RUN
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent


def streamlit_static() -> tuple[str, list[str]]:
    """The installed Streamlit's folder of hashed front-end files, and the CSP hashes of its inline scripts."""
    import streamlit

    root = Path(streamlit.__file__).resolve().parent / "static"
    html = (root / "index.html").read_text(encoding="utf-8")
    hashes = ["'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
              for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)]
    return str(root / "static") + os.sep, hashes


def reachable_by_all(path: Path) -> bool:
    """Whether every user may reach ``path`` (each folder above it lets others through): nginx's workers run as
    nobody when nginx is started as root (otherwise they run as this user, who can)."""
    if os.geteuid() != 0:
        return True
    for p in [path, *path.resolve().parents]:
        if not os.stat(p).st_mode & 0o001:
            return False
    return True


def render(template: str, workers: int, base_port: int, listen: str, static: Optional[str],
           hashes: list[str]) -> str:
    """The config text: the template with its upstreams, listen line, CSP hashes and static alias replaced (the
    static block left out when ``static`` is None: the app processes send those files then).

    >>> t = "listen 1;\\n# BEGIN upstreams\\nserver x;\\n# END upstreams\\nalias /a/;  # STREAMLIT_STATIC\\n"
    >>> print(render(t, 2, 9001, "0.0.0.0:80", "/s/", []), end="")
    listen 0.0.0.0:80;
    # BEGIN upstreams
            server 127.0.0.1:9001 max_fails=3 fail_timeout=10s;
            server 127.0.0.1:9002 max_fails=3 fail_timeout=10s;
    # END upstreams
    alias /s/;  # STREAMLIT_STATIC
    """
    out, inside, skip = [], False, False
    for line in template.splitlines(keepends=True):
        if "# BEGIN static" in line:
            skip = static is None
        if skip:
            skip = "# END static" not in line
            continue
        if "# BEGIN upstreams" in line:
            out.append(line)
            out += [f"        server 127.0.0.1:{base_port + i} max_fails=3 fail_timeout=10s;\n" for i in range(workers)]
            inside = True
            continue
        if "# END upstreams" in line:
            inside = False
        elif inside:
            continue
        if re.match(r"\s*listen ", line):
            line = re.sub(r"listen [^;]*;", f"listen {listen};", line)
        if "# STREAMLIT_STATIC" in line:
            line = re.sub(r"alias [^;]*;", f"alias {static};", line)
        if "Content-Security-Policy" in line and hashes:
            line = re.sub(r" 'sha256-[A-Za-z0-9+/=]+'", "", line)
            line = line.replace("'unsafe-eval'", "'unsafe-eval' " + " ".join(hashes), 1)
        out.append(line)
    return "".join(out)


#: Files nginx sends compressed (``gzip_static``: compressed once here, not on every request).
COMPRESSED = (".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt", ".wasm", ".ttf")


def copy_static(source: str, run_dir: Path) -> str:
    """Copy Streamlit's front-end files to ``run_dir/static/``, readable by every user, with a ``.gz`` beside each
    text file (nginx's ``gzip_static``); its path, with a slash."""
    import gzip

    dest = run_dir / "static"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    for d, _, files in os.walk(dest):
        os.chmod(d, 0o755)
        for f in files:
            path = os.path.join(d, f)
            os.chmod(path, 0o644)
            if f.endswith(COMPRESSED):
                with open(path, "rb") as src, gzip.GzipFile(path + ".gz", "wb", compresslevel=9, mtime=0) as out:
                    shutil.copyfileobj(src, out)
                os.chmod(path + ".gz", 0o644)
    return str(dest) + os.sep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--base-port", type=int, required=True)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--run-dir", type=Path, required=True, help="writes nginx.conf and static/ here")
    args = ap.parse_args()
    source, hashes = streamlit_static()
    static = copy_static(source, args.run_dir) if reachable_by_all(args.run_dir) else None
    text = render((HERE / "nginx.conf").read_text(encoding="utf-8"), args.workers, args.base_port, args.listen,
                  static, hashes)
    (args.run_dir / "nginx.conf").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
