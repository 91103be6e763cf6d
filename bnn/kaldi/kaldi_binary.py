"""Kaldi's basic object I/O (binary and text), the layer every Kaldi model file is made of.

Specification: Kaldi ``base/io-funcs.cc``, ``base/io-funcs-inl.h``, ``matrix/kaldi-vector.cc``,
``matrix/kaldi-matrix.cc`` and ``util/kaldi-io.cc`` (``InitKaldiOutputStream``):

* A binary object stream starts with the two bytes ``\\0B``; a text stream has no header.
* ``WriteToken``: the token followed by one space (both modes).  Binary ``ReadToken`` consumes
  exactly one whitespace byte after the token.
* ``WriteBasicType`` of an integer, binary: one signed size byte (``4`` for int32, ``-4`` =
  ``0xfc`` for uint32, ``8``/``-8`` for 64-bit) then the little-endian value; text: the decimal
  value then a space.  Floats, binary: size byte ``4`` (float) or ``8`` (double) then the raw
  IEEE value (a reader accepts either size); text: ``%.7g`` (Kaldi sets the stream precision to 7)
  then a space.
* ``WriteIntegerVector``, binary: size byte of the element type, int32 length, then the raw
  elements with no per-element size byte; text: ``[ 1 2 3 ]`` and a newline.
* ``Vector<Real>::Write``, binary: token ``FV``/``DV``, int32 dimension, raw data; text:
  `` [ 1 2 3 ]`` and a newline.  ``Matrix<Real>::Write``, binary: ``FM``/``DM``, int32 rows,
  int32 columns, raw row-major data; text: `` [`` then per row a newline, two spaces and the
  values each followed by a space, then ``]`` and a newline (`` [ ]`` and a newline if empty).

:class:`KaldiReader` parses a byte buffer in either mode; :class:`KaldiWriter` produces bytes
identical to Kaldi's.  Errors are :class:`~bnn.utils.errors.BnnError` naming the file and offset.
"""
import struct

import numpy as np

from bnn.utils.errors import BnnError

BINARY_HEADER = b"\0B"
_WS = b" \t\n\r\v\f"


def fmt_float(value) -> str:
    """A float as Kaldi's text streams print it (C++ ``ostream`` with precision 7 = ``%.7g``)."""
    return "%.7g" % float(value)


class KaldiReader:
    """Sequential reader over the bytes of a Kaldi object stream (binary or text).

    ``name`` is used in error messages (``"<name>: <what> at byte <offset>"``).
    """

    def __init__(self, data: bytes, name: str = "<stream>", binary: bool = None, pos: int = None):
        self.data = data
        self.name = name
        if binary is None:
            binary = data[:2] == BINARY_HEADER
        self.binary = binary
        if pos is None:
            pos = 2 if (binary and data[:2] == BINARY_HEADER) else 0
        self.pos = pos

    @classmethod
    def from_file(cls, path: str) -> "KaldiReader":
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as err:
            raise BnnError(f"{path}: cannot read ({err.strerror})") from None
        return cls(data, name=str(path))

    # ------------------------------------------------------------------ helpers
    def error(self, what: str) -> BnnError:
        return BnnError(f"{self.name}: {what} at byte {self.pos}")

    def skip_ws(self) -> None:
        data, n, p = self.data, len(self.data), self.pos
        while p < n and data[p] in _WS:
            p += 1
        self.pos = p

    def at_eof(self) -> bool:
        """True when only whitespace (text) or nothing (binary) is left."""
        if self.binary:
            return self.pos >= len(self.data)
        self.skip_ws()
        return self.pos >= len(self.data)

    def _word(self) -> str:
        """Next whitespace-delimited word (text mode; also tokens in binary mode)."""
        if not self.binary:
            self.skip_ws()
        data, n, start = self.data, len(self.data), self.pos
        p = start
        while p < n and data[p] not in _WS:
            p += 1
        if p == start:
            raise self.error("unexpected end of file" if p >= n else "expected a token")
        self.pos = p
        try:
            return data[start:p].decode("utf-8")
        except UnicodeDecodeError:
            self.pos = start
            raise self.error("unreadable bytes where a token was expected") from None

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self.error("unexpected end of file (truncated)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    # ------------------------------------------------------------------ tokens
    def read_token(self) -> str:
        word = self._word()
        if self.binary:
            # Kaldi's binary ReadToken requires and consumes one whitespace byte after the token.
            if self.pos >= len(self.data) or self.data[self.pos] not in _WS:
                raise self.error(f"token {word[:40]!r} not followed by a space")
            self.pos += 1
        return word

    def peek_token(self) -> str:
        pos = self.pos
        try:
            return self.read_token()
        except BnnError:
            return ""
        finally:
            self.pos = pos

    def expect_token(self, token: str) -> None:
        pos = self.pos
        try:
            got = self.read_token()
        except BnnError:
            got = None
        if got != token:
            self.pos = pos
            shown = "end of file" if got is None and pos >= len(self.data) else repr(got)
            raise self.error(f"expected {token}, found {shown}")

    # ------------------------------------------------------------------ scalars
    def _read_int_sized(self, size: int, signed: bool) -> int:
        if self.binary:
            c = self._take(1)
            got = struct.unpack("b", c)[0]
            want = size if signed else -size
            if got != want:
                self.pos -= 1
                raise self.error(f"expected an integer of size byte {want}, found size byte {got}")
            code = {4: "i", 8: "q"}[size]
            return struct.unpack("<" + (code if signed else code.upper()), self._take(size))[0]
        pos = self.pos
        word = self._word()
        try:
            value = int(word)
        except ValueError:
            self.pos = pos
            raise self.error(f"expected an integer, found {word[:40]!r}") from None
        return value

    def read_int(self) -> int:
        """``ReadBasicType<int32>``."""
        return self._read_int_sized(4, True)

    def read_uint(self) -> int:
        """``ReadBasicType<uint32>`` (binary size byte ``-4``)."""
        return self._read_int_sized(4, False)

    def read_float(self, dtype=np.float32):
        """``ReadBasicType<float>`` / ``<double>``; binary accepts either stored size."""
        if self.binary:
            c = struct.unpack("b", self._take(1))[0]
            if c == 4:
                value = struct.unpack("<f", self._take(4))[0]
            elif c == 8:
                value = struct.unpack("<d", self._take(8))[0]
            else:
                self.pos -= 1
                raise self.error(f"expected a float (size byte 4 or 8), found size byte {c}")
            return dtype(value)
        pos = self.pos
        word = self._word()
        try:
            return dtype(float(word))
        except ValueError:
            self.pos = pos
            raise self.error(f"expected a number, found {word[:40]!r}") from None

    # ------------------------------------------------------------------ vectors
    def read_int_vector(self) -> list:
        """``ReadIntegerVector<int32>`` (one size byte, length, raw elements / ``[ ... ]``)."""
        if self.binary:
            c = struct.unpack("b", self._take(1))[0]
            if c != 4:
                self.pos -= 1
                raise self.error(f"expected an int32 vector (size byte 4), found size byte {c}")
            (n,) = struct.unpack("<i", self._take(4))
            if n < 0:
                raise self.error(f"negative vector length {n}")
            return np.frombuffer(self._take(4 * n), dtype="<i4").tolist()
        self.expect_token("[")
        out = []
        while True:
            pos = self.pos
            word = self._word()
            if word == "]":
                return out
            try:
                out.append(int(word))
            except ValueError:
                self.pos = pos
                raise self.error(f"expected an integer or ], found {word[:40]!r}") from None

    def _text_bracket_body(self) -> bytes:
        self.skip_ws()
        if self.data[self.pos:self.pos + 1] != b"[":
            raise self.error(f"expected [, found {self.data[self.pos:self.pos + 10]!r}")
        end = self.data.find(b"]", self.pos + 1)
        if end < 0:
            raise self.error("unterminated [ ... ] (truncated file?)")
        body = self.data[self.pos + 1:end]
        self.pos = end + 1
        return body

    @staticmethod
    def _parse_floats(body: bytes, dtype):
        words = body.split()
        try:
            return np.array([float(w) for w in words], dtype=np.float64).astype(dtype)
        except ValueError:
            return None

    def read_vector(self, dtype=None) -> np.ndarray:
        """``Vector<Real>::Read``: binary ``FV``/``DV`` (converted to ``dtype`` if given) or text.

        With ``dtype=None`` the stored precision is kept in binary mode and float32 is used for
        text (Kaldi's ``BaseFloat``).
        """
        if self.binary:
            pos = self.pos
            tok = self.read_token()
            if tok not in ("FV", "DV"):
                self.pos = pos
                raise self.error(f"expected a vector (FV or DV), found {tok[:40]!r}")
            n = self.read_int()
            if n < 0:
                raise self.error(f"negative vector dimension {n}")
            stored = np.float32 if tok == "FV" else np.float64
            arr = np.frombuffer(self._take(n * np.dtype(stored).itemsize),
                                dtype=np.dtype(stored).newbyteorder("<")).astype(stored)
            return arr if dtype is None else arr.astype(dtype)
        pos = self.pos
        body = self._text_bracket_body()
        arr = self._parse_floats(body, dtype or np.float32)
        if arr is None:
            self.pos = pos
            raise self.error("non-numeric value inside a vector")
        return arr

    def read_matrix(self, dtype=None) -> np.ndarray:
        """``Matrix<Real>::Read``: binary ``FM``/``DM`` or text (rows end at newlines)."""
        if self.binary:
            pos = self.pos
            tok = self.read_token()
            if tok not in ("FM", "DM"):
                self.pos = pos
                raise self.error(f"expected a matrix (FM or DM), found {tok[:40]!r}")
            rows = self.read_int()
            cols = self.read_int()
            if rows < 0 or cols < 0:
                raise self.error(f"negative matrix size {rows}x{cols}")
            stored = np.float32 if tok == "FM" else np.float64
            arr = np.frombuffer(self._take(rows * cols * np.dtype(stored).itemsize),
                                dtype=np.dtype(stored).newbyteorder("<")).astype(stored)
            arr = arr.reshape(rows, cols)
            return arr if dtype is None else arr.astype(dtype)
        pos = self.pos
        body = self._text_bracket_body()
        rows = [line for line in body.split(b"\n") if line.strip()]
        parsed = [self._parse_floats(line, dtype or np.float32) for line in rows]
        if any(r is None for r in parsed):
            self.pos = pos
            raise self.error("non-numeric value inside a matrix")
        if not parsed:
            return np.zeros((0, 0), dtype=dtype or np.float32)
        cols = len(parsed[0])
        if any(len(r) != cols for r in parsed):
            self.pos = pos
            raise self.error("matrix rows of different lengths")
        return np.stack(parsed)


class KaldiWriter:
    """Accumulates the bytes of a Kaldi object stream; ``getvalue()`` returns them.

    ``binary=True`` starts the stream with ``\\0B`` (``header=False`` to omit it, e.g. when
    appending to an existing stream).
    """

    def __init__(self, binary: bool, header: bool = True):
        self.binary = binary
        self._parts = []
        if binary and header:
            self._parts.append(BINARY_HEADER)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)

    def raw(self, text) -> None:
        """Write literal text/bytes (Kaldi's ``os << "\\n"`` in text mode)."""
        self._parts.append(text.encode() if isinstance(text, str) else text)

    def newline(self) -> None:
        """Kaldi's ``if (!binary) os << "\\n";``."""
        if not self.binary:
            self._parts.append(b"\n")

    def write_token(self, token: str) -> None:
        self._parts.append(token.encode() + b" ")

    def write_int(self, value: int) -> None:
        if self.binary:
            self._parts.append(b"\x04" + struct.pack("<i", int(value)))
        else:
            self._parts.append(b"%d " % int(value))

    def write_uint(self, value: int) -> None:
        if self.binary:
            self._parts.append(b"\xfc" + struct.pack("<I", int(value)))
        else:
            self._parts.append(b"%d " % int(value))

    def write_float(self, value, double: bool = False) -> None:
        if self.binary:
            if double:
                self._parts.append(b"\x08" + struct.pack("<d", float(value)))
            else:
                self._parts.append(b"\x04" + struct.pack("<f", float(np.float32(value))))
        else:
            self._parts.append((fmt_float(value) + " ").encode())

    def write_int_vector(self, values) -> None:
        values = [int(v) for v in values]
        if self.binary:
            self._parts.append(b"\x04" + struct.pack("<i", len(values))
                               + np.asarray(values, dtype="<i4").tobytes())
        else:
            self._parts.append(("[ " + "".join(f"{v} " for v in values) + "]\n").encode())

    def write_vector(self, arr: np.ndarray) -> None:
        """``Vector<Real>::Write``; ``arr.dtype`` float32 -> ``FV``, float64 -> ``DV``."""
        arr = np.asarray(arr)
        double = arr.dtype == np.float64
        if self.binary:
            self.write_token("DV" if double else "FV")
            self.write_int(arr.shape[0])
            self._parts.append(arr.astype("<f8" if double else "<f4").tobytes())
        else:
            self._parts.append((" [ " + "".join(fmt_float(v) + " " for v in arr.tolist())
                                + "]\n").encode())

    def write_matrix(self, arr: np.ndarray) -> None:
        """``Matrix<Real>::Write``; float32 -> ``FM``, float64 -> ``DM``."""
        arr = np.asarray(arr)
        double = arr.dtype == np.float64
        rows, cols = arr.shape
        if self.binary:
            self.write_token("DM" if double else "FM")
            self.write_int(rows)
            self.write_int(cols)
            self._parts.append(np.ascontiguousarray(arr, dtype="<f8" if double else "<f4").tobytes())
        elif cols == 0:
            self._parts.append(b" [ ]\n")
        else:
            out = [" ["]
            for row in arr.tolist():
                out.append("\n  " + "".join(fmt_float(v) + " " for v in row))
            out.append("]\n")
            self._parts.append("".join(out).encode())
