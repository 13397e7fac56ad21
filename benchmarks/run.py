"""Benchmark: orchfix over a folder (default ../shared/corpus), and hadolint over its Dockerfiles.

    python benchmarks/run.py [FOLDER] [--select IDS] [--jobs N] [--repeat N]

Prints files, bytes, wall seconds, files/s and the peak memory of the largest orchfix process;
when ``hadolint`` is on PATH, hadolint's time over the same Dockerfiles and the ratio. orchfix
runs as a user would run it (``orchfix --dry-run --unsafe --quiet``), so start-up is counted.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from orchfix.workspace import Workspace

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def hadolint_seconds(exe: str, dockerfiles: list[str]) -> float:
    """hadolint over every Dockerfile, in batches that fit a command line."""
    total = 0.0
    for i in range(0, len(dockerfiles), 200):
        seconds, _ = timed([exe, "--no-fail", "-f", "json", *dockerfiles[i:i + 200]])
        total += seconds
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT))
    parser.add_argument("--select", default="", help="transform ids or prefixes (default: all)")
    parser.add_argument("--jobs", default="0")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool; the best is reported")
    args = parser.parse_args()
    folder = Path(args.folder)
    if not folder.is_dir():
        sys.exit(f"benchmark: {folder} is not a folder")
    ws = Workspace.scan([str(folder)])
    size = sum(Path(f.path).stat().st_size for f in ws.files.values())
    cmd = [sys.executable, "-m", "orchfix", "--dry-run", "--unsafe", "--quiet", "--format", "json", "--jobs", args.jobs, str(folder)]
    if args.select:
        cmd[3:3] = ["--select", args.select]
    runs = [timed(cmd) for _ in range(args.repeat)]
    best = min(seconds for seconds, _ in runs)
    if runs[0][1].returncode not in (0, 1, 3):
        sys.exit(f"benchmark: orchfix failed:\n{runs[0][1].stderr}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"orchfix  files {len(ws.files)}  bytes {size:,}  wall {best:.2f}s  {len(ws.files) / best:,.0f} files/s  "
          f"peak RSS {peak_mib:.0f} MiB  (best of {args.repeat}, jobs {args.jobs or 'all cores'})")
    exe = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if exe:
        dockerfiles = [f.path for f in ws.files.values() if f.kind == "dockerfile"]
        lint = min(hadolint_seconds(exe, dockerfiles) for _ in range(args.repeat))
        print(f"hadolint dockerfiles {len(dockerfiles)}  wall {lint:.2f}s  orchfix/hadolint {best / lint:.2f}")


if __name__ == "__main__":
    main()
