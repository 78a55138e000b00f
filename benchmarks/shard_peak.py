"""Peak memory of one shard's build job, suffix-array kind vs FM kind, on the same token file.

Each job runs alone in a fresh process (this script, once per kind and repetition, alternating);
the peak is the process's ``ru_maxrss``. A token file is any shard's ``tokenized.N`` (e.g. of an
index built by ``bench.py`` or ``bench_fm.py``)::

    python benchmarks/shard_peak.py TOKENIZED [--width 1] [--repeat 2] [--out benchmarks/results/fm_shard_peak.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def one(kind: str, ds: str, width: int) -> dict[str, float]:
    import time

    out = Path(tempfile.mkdtemp(prefix="shard_peak_"))
    t0 = time.perf_counter()
    try:
        if kind == "sa":
            from anygram.builder.suffix_array import build_table

            build_table(ds, out / "table.0", width)
        else:
            from anygram.fm.build import build_fm

            build_fm(ds, out, 0, width)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"kind": kind, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tokenized")
    ap.add_argument("--width", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--child", choices=["sa", "fm"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.tokenized, args.width)))
        return
    runs = []
    for r in range(args.repeat):
        for kind in ("sa", "fm"):
            cmd = [sys.executable, __file__, args.tokenized, "--width", str(args.width), "--child", kind]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            res["run"] = r + 1
            runs.append(res)
            print(f"run {r + 1} {kind}: peak {res['peak_mib']:.2f} MiB, {res['seconds']:.1f} s", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"tokenized": args.tokenized, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
