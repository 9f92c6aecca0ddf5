"""Labels in any script (issue 20): what 200 accounts with 20-character CJK labels cost.

1. Flash: the vault bytes of such a label (its record) and the bytes of its two strip
   files (fob/labels.py), written by the firmware's own code, and the same counted in
   512-byte clusters (FAT allocates whole clusters).
2. Heap: the whole firmware on the board-sized 32-bit WebAssembly tier (bench.board_heap)
   with those 200 accounts on the fob at boot, an import of the same 200 (staged parts with
   their strips) replacing them, list, code and delete; and the same import into an empty
   fob, which writes every strip.
3. Time on this computer: rendering the 400 strips (Pillow, raqm, Unifont).

Run: ``.venv/bin/python -m bench.labels`` (``make bench``).
"""

import json
import os
import statistics
import tempfile
import time

from bench import board_heap as bh

CLUSTER = 512


def flash(count=bh.ACCOUNTS):
    with tempfile.TemporaryDirectory() as state:
        v = bh.seed_labels(state, count)
        vault = v.bytes_used
        folder = os.path.join(state, "labels")
        sizes = [os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)]
    clusters = sum((s + CLUSTER - 1) // CLUSTER for s in sizes)
    return {
        "accounts": count,
        "vault_bytes": vault,
        "vault_per_label": vault / count,
        "strip_files": len(sizes),
        "strip_bytes": sum(sizes),
        "strip_bytes_per_label": sum(sizes) / count,
        "strip_clusters_bytes_per_label": clusters * CLUSTER / count,
    }


def render_time(count=bh.ACCOUNTS):
    from otpfob import labels

    accs = bh._accounts(count, labels=True)
    labels.render.cache_clear()
    labels.plan([("", "warm")])  # the fonts and tables, once
    t = time.perf_counter()
    bh.strips_of(accs)
    return time.perf_counter() - t


def main():
    f = flash()
    print(
        "200 accounts with 20-character CJK labels (6-character issuer, 14-character "
        "name), firmware's own vault and strip code:"
    )
    print(
        "  vault: %d B (%.1f B per label, of the %d B slot)"
        % (f["vault_bytes"], f["vault_per_label"], 40960)
    )
    print(
        "  strips: %d files, %d B (%.0f B per label; %.0f B per label in %d-byte "
        "clusters)"
        % (
            f["strip_files"],
            f["strip_bytes"],
            f["strip_bytes_per_label"],
            f["strip_clusters_bytes_per_label"],
            CLUSTER,
        )
    )
    runs = {}
    for name, seed in (("replace", bh.ACCOUNTS), ("empty", 0)):
        r = bh.board_run(minutes=1, labels=True, seed=seed)
        runs[name] = {k: v for k, v in r.items() if k not in ("replies", "screens", "stdout")}
        ok = [n for n, rep in r["replies"] if rep.get("ok")]
        print(
            "  heap, 32-bit WebAssembly tier capped at %d B (%d offered), %s: boot live "
            "%d B, most live %d B at %d s, least free %d B; slowest passes %s ms; %d of "
            "%d requests answered ok"
            % (
                bh.BOARD_HEAP,
                r["heap"],
                "200 on the fob, import of the same 200" if seed else "empty fob, import of 200",
                r["boot_live"],
                r["live_peak"],
                r["live_peak_at"],
                r["least_free"],
                ", ".join("%.1f" % ms for ms in r["slowest_ms"][:3]),
                len(ok),
                len(r["replies"]),
            )
        )
    seconds = statistics.median(render_time() for _ in range(3))
    print("  rendering the 400 strips on this computer: %.2f s (median of 3)" % seconds)
    print(json.dumps({"labels_flash": f, "labels_heap": runs, "labels_render_s": seconds}))


if __name__ == "__main__":
    main()
