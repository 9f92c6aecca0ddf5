// The few Python string behaviours otpfob's parsers rely on (str.strip, repr, isprintable,
// int(), urllib's urlsplit, parse_qsl and unquote), so that the page's otpauth and
// migration readers accept, fix up and refuse exactly what host_tools/otpfob/otpauth.py
// and migration.py do, with the same messages (tests/web compares them on one corpus).

// str.isspace's characters.
const SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003" +
  "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

export function strip(s, chars = SPACE) {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

export const lstrip = (s, chars) => {
  let a = 0;
  while (a < s.length && chars.includes(s[a])) a++;
  return s.slice(a);
};

const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
export const isPrintable = (ch) => ch === " " || !NOT_PRINTABLE.test(ch);

// repr() of a str.
export function repr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (isPrintable(ch)) out += ch;
    else if (cp < 0x100) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + quote;
}

// int(text) for base-10 text already stripped: a sign, ASCII digits, "_" between digits.
// A number beyond 2**53 comes back as a BigInt, so messages name it exactly as Python does.
export function toInt(text) {
  const t = strip(text);
  if (!/^[+-]?[0-9]+(_[0-9]+)*$/.test(t)) return null;
  const n = BigInt(t.replace(/_/g, ""));
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

export const isAlpha = (s) => s.length > 0 && /^\p{L}+$/u.test(s);

// urllib.parse.unquote (UTF-8, errors="replace").
export function unquote(s) {
  if (!s.includes("%")) return s;
  let out = "";
  let bytes = [];
  const flush = () => {
    if (bytes.length) out += new TextDecoder().decode(Uint8Array.from(bytes));
    bytes = [];
  };
  for (let i = 0; i < s.length;) {
    if (s[i] === "%" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      flush();
      out += s[i];
      i += 1;
    }
  }
  flush();
  return out;
}

// urllib.parse.parse_qsl(query, keep_blank_values=True): [[name, value], ...].
export function parseQsl(query) {
  const out = [];
  for (const part of query.split("&")) {
    if (!part) continue;
    const at = part.indexOf("=");
    const nv = at < 0 ? [part, ""] : [part.slice(0, at), part.slice(at + 1)];
    out.push([unquote(nv[0].replace(/\+/g, " ")), unquote(nv[1].replace(/\+/g, " "))]);
  }
  return out;
}

const C0_OR_SPACE = Array.from({ length: 33 }, (_, i) => String.fromCharCode(i)).join("");
const SCHEME_CHARS = /^[a-zA-Z0-9+\-.]*$/;

export class UrlError extends Error {}

// urllib.parse.urlsplit: {scheme, netloc, path, query, fragment}; throws UrlError where
// Python raises ValueError.
export function urlsplit(url) {
  url = lstrip(url, C0_OR_SPACE).replace(/[\t\r\n]/g, "");
  let scheme = "";
  let netloc = "";
  const i = url.indexOf(":");
  if (i > 0 && /^[a-zA-Z]$/.test(url[0]) && SCHEME_CHARS.test(url.slice(0, i))) {
    scheme = url.slice(0, i).toLowerCase();
    url = url.slice(i + 1);
  }
  if (url.slice(0, 2) === "//") {
    let end = url.length;
    for (const c of "/?#") {
      const at = url.indexOf(c, 2);
      if (at >= 0) end = Math.min(end, at);
    }
    netloc = url.slice(2, end);
    url = url.slice(end);
    if ((netloc.includes("[") && !netloc.includes("]")) ||
        (netloc.includes("]") && !netloc.includes("["))) {
      throw new UrlError("Invalid IPv6 URL");
    }
  }
  let fragment = "";
  let query = "";
  if (url.includes("#")) {
    fragment = url.slice(url.indexOf("#") + 1);
    url = url.slice(0, url.indexOf("#"));
  }
  if (url.includes("?")) {
    query = url.slice(url.indexOf("?") + 1);
    url = url.slice(0, url.indexOf("?"));
  }
  return { scheme, netloc, path: url, query, fragment };
}

export const utf8Length = (s) => new TextEncoder().encode(s).length;
