"""Just enough of Java's object serialization (the Java Object Serialization
Specification, chapter 6, "Object Serialization Stream Protocol") to read a
java.util.HashMap<String, String>, the form FreeOTP 2 writes its backups in; and to write
one, so tests can build such a backup from the specification."""

import struct

MAGIC = 0xACED
VERSION = 5
TC_NULL = 0x70
TC_REFERENCE = 0x71
TC_CLASSDESC = 0x72
TC_OBJECT = 0x73
TC_STRING = 0x74
TC_BLOCKDATA = 0x77
TC_ENDBLOCKDATA = 0x78
TC_LONGSTRING = 0x7C
SC_WRITE_METHOD = 0x01
SC_SERIALIZABLE = 0x02
BASE_HANDLE = 0x7E0000
HASHMAP = "java.util.HashMap"
HASHMAP_UID = 362498820763181265


class JavaSerError(ValueError):
    pass


def is_serialized(data):
    return data[:4] == struct.pack(">HH", MAGIC, VERSION)


def _mutf8(raw):
    """Java's "modified UTF-8": NUL as C0 80, characters beyond the BMP as two 3-byte
    surrogates."""
    raw = raw.replace(b"\xc0\x80", b"\x00")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return (
            raw.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass").decode("utf-16")
        )
    except UnicodeError:
        raise JavaSerError("a string is not valid modified UTF-8") from None


def _to_mutf8(text):
    out = bytearray()
    for ch in text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass"):
        if ch == "\x00":
            out += b"\xc0\x80"
        elif ord(ch) > 0xFFFF:
            pair = ch.encode("utf-16-be")
            for i in (0, 2):
                out += chr(int.from_bytes(pair[i : i + 2], "big")).encode("utf-8", "surrogatepass")
        else:
            out += ch.encode("utf-8")
    return bytes(out)


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.handles = []

    def take(self, n):
        if self.pos + n > len(self.data):
            raise JavaSerError("the file ends too early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def utf(self):
        return _mutf8(self.take(self.u16()))

    def string(self):
        tc = self.u8()
        if tc == TC_STRING:
            text = _mutf8(self.take(self.u16()))
        elif tc == TC_LONGSTRING:
            text = _mutf8(self.take(struct.unpack(">q", self.take(8))[0]))
        elif tc == TC_REFERENCE:
            handle = self.i32() - BASE_HANDLE
            if not 0 <= handle < len(self.handles) or not isinstance(self.handles[handle], str):
                raise JavaSerError("a reference points to no string")
            return self.handles[handle]
        elif tc == TC_NULL:
            return None
        else:
            raise JavaSerError("expected a string, found type code 0x%02x" % tc)
        self.handles.append(text)
        return text


def read_hashmap(data):
    """{key: value} of a serialized java.util.HashMap of strings."""
    r = _Reader(data)
    if r.u16() != MAGIC or r.u16() != VERSION:
        raise JavaSerError("not a Java serialization stream")
    if r.u8() != TC_OBJECT or r.u8() != TC_CLASSDESC:
        raise JavaSerError("the stream does not start with an object")
    name = r.utf()
    if name != HASHMAP:
        raise JavaSerError("the object is a %s, not a %s" % (name, HASHMAP))
    r.take(8)  # serialVersionUID
    r.handles.append("<class>")
    r.u8()  # flags
    sizes = {"B": 1, "C": 2, "D": 8, "F": 4, "I": 4, "J": 8, "S": 2, "Z": 1}
    skip = 0
    for _ in range(r.u16()):
        code = chr(r.u8())
        r.utf()
        if code not in sizes:
            raise JavaSerError("the HashMap has an unexpected field of type %s" % code)
        skip += sizes[code]
    if r.u8() != TC_ENDBLOCKDATA or r.u8() != TC_NULL:
        raise JavaSerError("the HashMap's class description is not the usual one")
    r.handles.append("<object>")
    r.take(skip)  # loadFactor, threshold
    if r.u8() != TC_BLOCKDATA or r.u8() < 8:
        raise JavaSerError("the HashMap has no size block")
    r.i32()  # capacity
    size = r.i32()
    if not 0 <= size <= 100000:
        raise JavaSerError("the HashMap claims %d entries" % size)
    out = {}
    for _ in range(size):
        key = r.string()
        out[key] = r.string()
    return out


def write_hashmap(mapping):
    """The serialization of a java.util.HashMap<String, String> holding `mapping`."""

    def utf(text):
        raw = _to_mutf8(text)
        return struct.pack(">H", len(raw)) + raw

    out = bytearray(struct.pack(">HH", MAGIC, VERSION))
    out += bytes((TC_OBJECT, TC_CLASSDESC)) + utf(HASHMAP) + struct.pack(">q", HASHMAP_UID)
    out += bytes((SC_WRITE_METHOD | SC_SERIALIZABLE,)) + struct.pack(">H", 2)
    out += b"F" + utf("loadFactor") + b"I" + utf("threshold")
    out += bytes((TC_ENDBLOCKDATA, TC_NULL))
    capacity = 16
    while capacity * 0.75 < len(mapping):
        capacity *= 2
    out += struct.pack(">fi", 0.75, int(capacity * 0.75))
    out += bytes((TC_BLOCKDATA, 8)) + struct.pack(">ii", capacity, len(mapping))
    for key, value in mapping.items():
        for text in (key, value):
            raw = _to_mutf8(text)
            if len(raw) > 0xFFFF:
                out += bytes((TC_LONGSTRING,)) + struct.pack(">q", len(raw)) + raw
            else:
                out += bytes((TC_STRING,)) + struct.pack(">H", len(raw)) + raw
    out += bytes((TC_ENDBLOCKDATA,))
    return bytes(out)
