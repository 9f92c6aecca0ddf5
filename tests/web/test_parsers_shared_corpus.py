"""The page reads otpauth:// URIs, steam:// secrets, Google Authenticator exports and
otpauth lists itself (web/js/otpauth.js, migration.js, importer.js). Run over one shared
corpus, they must give what otpfob's Python parsers and importers give: the same accounts
(secrets compared as bytes; TOTP and HOTP, with counters), the same warnings, the same
skipped entries, repeats and conflicts, and the same error messages, so the two cannot
drift. The corpus is a fixed file of hand-picked URIs, exports made here (good, partial
and broken ones), import files of URI lists, and a few thousand URIs assembled from
awkward pieces with a fixed seed."""

import base64
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from otpfob import importers, migration
from otpfob.otpauth import Account, OtpauthError, build_uri, parse_uri

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus" / "uris.json"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js")


def account(a):
    return {
        "name": a.name,
        "issuer": a.issuer,
        "secret": a.secret.hex(),
        "algorithm": a.algorithm,
        "digits": a.digits,
        "period": a.period,
        "kind": a.kind,
        "counter": a.counter,
    }


def python_uri(uri):
    try:
        a = parse_uri(uri)
    except OtpauthError as exc:
        return {"error": str(exc)}
    return {"account": account(a), "warnings": a.warnings}


def python_export(uris):
    try:
        accounts, skipped = migration.merge([migration.decode_uri(u) for u in uris])
    except OtpauthError as exc:
        return {"error": str(exc)}
    return {"accounts": [account(a) for a in accounts], "skipped": skipped}


def python_import(files, tmp):
    """What otpfob's importers make of text files: accounts (with where each came from),
    the lines `otpfob import` prints (fix-ups, notices, skipped entries), the conflicts."""
    paths = []
    for f in files:
        p = tmp / f["where"]
        p.write_text(f["text"], encoding="utf-8")
        paths.append(str(p))
    try:
        got = importers.collect([("file", p) for p in paths])
    except (importers.ImportFileError, OtpauthError) as exc:
        return {"error": str(exc).replace(str(tmp) + "/", "")}

    def local(text):
        return text.replace(str(tmp) + "/", "")

    lines = ["%s (%s): %s" % (a.label, where, w) for a, where in got.items for w in a.warnings]
    lines += got.notices
    lines += ["skipped " + s.line() for s in got.skipped]
    return {
        "accounts": [dict(account(a), where=local(where)) for a, where in got.items],
        "lines": [local(line) for line in lines],
        "conflicts": [[label, [local(w) for w in wheres]] for label, wheres in got.conflicts],
    }


def entry(**kw):
    return migration.encode_entry(**kw)


def exports():
    a = Account("alice", b"alice-secret-0123456", issuer="Example")
    b = Account("bob", b"bob-secret-012345678", issuer="Bank", algorithm="SHA256", digits=8)
    many = [Account("user%d" % i, bytes([i] * 12), issuer="S%d" % i) for i in range(23)]
    payload = migration.encode_payload
    uri = migration.encode_uri
    parts = migration.export_uris(many, per_code=10, batch_id=-7)
    raw = payload([a, b])
    b64 = base64.b64encode(raw).decode()
    return [
        [uri(payload([a, b]))],
        parts,
        parts[:1] + parts[2:],
        [parts[2], parts[0]],
        [uri(payload([entry(secret=b"0123456789", name="Shop:carol")]))],
        [uri(payload([entry(secret=b"0123456789", name="Shop:carol", issuer="Other")]))],
        [
            uri(
                payload(
                    [
                        entry(
                            secret=b"0123456789", name="c", otp_type=migration.TYPE_HOTP, counter=41
                        ),
                        entry(
                            secret=b"0123456789",
                            name="big",
                            otp_type=migration.TYPE_HOTP,
                            counter=2**40,
                        ),
                    ]
                )
            )
        ],
        [
            uri(
                payload(
                    [
                        entry(secret=b"0123456789", name="h", otp_type=migration.TYPE_HOTP),
                        entry(secret=b"0123456789", name="m", algorithm=4),
                        entry(secret=b"0123456789", name="d", digits=7),
                        entry(secret=b"0123456789", name="t", otp_type=9),
                        entry(secret=b"0", name="short"),
                        entry(secret=b"0123456789", name=""),
                        entry(secret=b"0123456789", name="ok", algorithm=0, digits=0, otp_type=0),
                    ]
                )
            )
        ],
        [uri(payload([a], batch_size=2, batch_index=5))],
        [
            uri(payload([a], batch_size=2, batch_index=0)),
            uri(payload([b], batch_size=3, batch_index=1)),
        ],
        [uri(payload([a], batch_size=5000))],
        ["otpauth-migration://offline?data=" + b64],
        ["otpauth-migration://offline?data=" + b64.replace("+", "-").replace("/", "_").rstrip("=")],
        ["otpauth-migration://offline?data=" + b64.replace("+", " ")],
        ["otpauth-migration://offline?data=" + b64[:-6]],
        ["otpauth-migration://offline?data=" + base64.b64encode(raw[:-3]).decode()],
        ["otpauth-migration://offline?data=" + base64.b64encode(b"\x00\x01").decode()],
        ["otpauth-migration://offline?data=" + base64.b64encode(b"\x0b").decode()],
        ["otpauth-migration://offline?data=" + base64.b64encode(b"\x08" + b"\xff" * 11).decode()],
        [
            "otpauth-migration://offline?data="
            + base64.b64encode(b"\x0a\x04\x12\x02\xff\xfe").decode()
        ],
        ["otpauth-migration://offline?data=!!!"],
        ["otpauth-migration://offline?data=A"],
        ["otpauth-migration://offline"],
        ["otpauth-migration://online?data=" + b64],
        ["otpauth://offline?data=" + b64],
        ["otpauth-migration://[offline?data=" + b64],
    ]


def imports():
    good = build_uri(Account("alice", b"alice-secret-0123456", issuer="Example"))
    other = build_uri(Account("alice", b"other-secret-0123456", issuer="EXAMPLE"))
    hotp = build_uri(
        Account("card", b"card-secret-01234567", issuer="Bank", kind="hotp", counter=12)
    )
    export = migration.export_uris(
        [Account("e%d" % i, bytes([i + 1] * 10)) for i in range(3)], per_code=2
    )
    mixed = migration.export_uris(
        [
            Account("h", b"hotp-secret-0123", kind="hotp", counter=7),
            Account("t", b"totp-secret-0123", issuer="T"),
        ]
    )[0]
    return [
        [{"where": "a.txt", "text": "# mine\n\n%s\n  steam://JBSWY3DPEHPK3PXP  \n" % good}],
        [
            {"where": "b.txt", "text": "%s\r\n%s\r\n" % (export[1], good)},
            {"where": "c.txt", "text": export[0] + "\n"},
        ],
        # A bad line is skipped, naming its place; the rest comes across.
        [
            {
                "where": "d.txt",
                "text": "%s\notpauth://totp/X:y?secret=JBSWY3DPEHPK3PX0\n"
                "hello\notpauth://hotp/C:d?secret=JBSWY3DPEHPK3PXP\n"
                "otpauth-migration://offline?data=!!!\n" % good,
            }
        ],
        [{"where": "e.txt", "text": "otpauth://totp/Steam:me?secret=JBSWY3DPEHPK3PXP\n"}],
        [{"where": "f.txt", "text": export[0] + "\n"}],
        # HOTP accounts, from URIs and from an export, keep their counters.
        [{"where": "g.txt", "text": "%s\n%s\n" % (hotp, mixed)}],
        # The same account three times counts once; two secrets under one label conflict.
        [
            {"where": "h.txt", "text": "%s\n%s\n" % (good, hotp)},
            {"where": "i.txt", "text": "%s\n\ufeff%s\n" % (good, good)},
            {"where": "j.txt", "text": hotp.replace("counter=12", "counter=13") + "\n"},
        ],
        # A label differing only in case is the same account: a conflict too.
        [{"where": "l.txt", "text": "%s\n%s\n" % (good, other)}],
        [{"where": "k.txt", "text": "\ufeff%s\n# only comments after\n" % good}],
    ]


PIECES = {
    "scheme": [
        "otpauth://",
        "OTPAUTH://",
        "otpauth:/",
        "steam://",
        "otpauth-migration://",
        "x://",
        "",
    ],
    "kind": ["totp", "TOTP", "hotp", "steam", "", "tot p", "t%6Ftp"],
    "label": [
        "Issuer:name",
        "name",
        "Iss%3Aname",
        "%20a%20:%20b%20",
        ":",
        "a:b:c",
        "Caf%C3%A9:%E2%82%AC",
        "%ZZ:x",
        "+plus+:y",
        "A%2Fb:c",
        "x" * 70,
        "",
    ],
    "secret": [
        "JBSWY3DPEHPK3PXP",
        "jbswy3dp ehpk3pxp",
        "JBSWY3DPEHPK3PX",
        "JB=SW",
        "JBSWY3DPEHPK3PX0",
        "GEZDGNBVGY3TQOJQ",
        "A",
        "MZXW6===",
        "%4A%42",
        "",
    ],
    "extra": [
        "",
        "&issuer=Issuer",
        "&issuer=Other",
        "&issuer=",
        "&algorithm=SHA512",
        "&algorithm=sha1",
        "&algorithm=foo",
        "&digits=8",
        "&digits=5",
        "&digits=x",
        "&period=15",
        "&period=-1",
        "&encoder=steam",
        "&encoder=x",
        "&issuer=steam",
        "&secret=OTHER234",
        "&counter=3",
        "&counter=0",
        "&counter=-1",
        "&counter=x",
        "&counter=4294967296",
        "&counter=99999999999999999999",
        "&image=http%3A%2F%2Fx",
    ],
}


def generated(n=2500, seed=20261207):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p = {k: rng.choice(v) for k, v in PIECES.items()}
        extras = "".join(rng.choice(PIECES["extra"]) for _ in range(rng.randint(0, 3)))
        query = ("secret=" + p["secret"]) if rng.random() < 0.9 else ""
        out.append("%s%s/%s?%s%s" % (p["scheme"], p["kind"], p["label"], query, extras))
    # Counter-based ones, with and without their counter.
    for _ in range(n // 5):
        p = {k: rng.choice(v) for k, v in PIECES.items()}
        extras = "".join(rng.choice(PIECES["extra"]) for _ in range(rng.randint(0, 2)))
        if rng.random() < 0.8:
            extras += "&counter=" + rng.choice(
                ["0", "12", " 7 ", "-1", "x", "", "4294967295", "4294967296", "1_000"]
            )
        out.append(
            "otpauth://%s/%s?secret=%s%s"
            % (rng.choice(["hotp", "HOTP"]), p["label"], p["secret"], extras)
        )
    return out


def run_page_parsers(corpus, tmp_path):
    spec = tmp_path / "corpus.json"
    spec.write_text(json.dumps(corpus, ensure_ascii=False))
    res = subprocess.run(
        ["node", str(HERE / "parse_corpus.mjs"), str(spec)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def corpus():
    return {
        "uris": json.loads(CORPUS.read_text())["uris"] + generated(),
        "exports": exports(),
        "imports": imports(),
    }


@pytest.fixture(scope="module")
def page_results(corpus, tmp_path_factory):
    return run_page_parsers(corpus, tmp_path_factory.mktemp("corpus"))


def compare(inputs, page, python):
    crashes = [(i, r["crash"]) for i, r in zip(inputs, page, strict=True) if "crash" in r]
    assert not crashes, crashes[:3]
    differ = [(i, p, q) for i, p, q in zip(inputs, page, python, strict=True) if p != q]
    assert not differ, "%d differ; first: %r\npage:   %r\npython: %r" % (
        len(differ),
        differ[0][0],
        differ[0][1],
        differ[0][2],
    )


def test_the_page_reads_every_uri_of_the_corpus_as_otpauth_py_does(corpus, page_results):
    python = [python_uri(u) for u in corpus["uris"]]
    # The corpus covers both sides of the parser: accounts and refusals of many kinds.
    assert sum("account" in r for r in python) > 80
    assert sum(r.get("account", {}).get("kind") == "hotp" for r in python) > 20
    assert len({r.get("error") for r in python}) > 30
    compare(corpus["uris"], page_results["uris"], python)


def test_the_page_reads_google_authenticator_exports_as_migration_py_does(corpus, page_results):
    python = [python_export(u) for u in corpus["exports"]]
    assert sum("accounts" in r for r in python) >= 5 and sum("error" in r for r in python) >= 10
    compare(corpus["exports"], page_results["exports"], python)


def test_the_page_reads_import_files_as_otpfob_import_does(corpus, page_results, tmp_path):
    python = []
    for n, files in enumerate(corpus["imports"]):
        folder = tmp_path / str(n)
        folder.mkdir()
        python.append(python_import(files, folder))
    assert any("accounts" in r and len(r["accounts"]) == 4 for r in python)
    # Skipped lines, repeats, conflicts and HOTP counters are all in the corpus.
    lines = [line for r in python for line in r.get("lines", ())]
    assert sum(line.startswith("skipped ") for line in lines) >= 4
    assert any("appears 3 times" in line for line in lines)
    assert any(r.get("conflicts") for r in python)
    assert any(
        a["kind"] == "hotp" and a["counter"] == 7 for r in python for a in r.get("accounts", ())
    )
    compare(corpus["imports"], page_results["imports"], python)
