"""``python -m bench``: every benchmark module present, in order."""

import importlib

MODULES = (
    "bench.engine",
    "bench.display",
    "bench.provision",
    "bench.fleet",
    "bench.board_heap",
    "bench.labels",
    "bench.session",
    "bench.clock_set",
    "bench.power",
    "bench.install",
    "bench.web",
    "bench.realcp",
)


def main():
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only skip benchmarks that do not exist yet, not ones that fail to import.
            if exc.name != name:
                raise
            continue
        mod.main()
        print()


if __name__ == "__main__":
    main()
